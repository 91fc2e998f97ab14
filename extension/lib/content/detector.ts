/**
 * The only code injected into every page: it waits until a text field gets focus (or the page
 * is one Tandem has a binding on, or is the server's own), then asks the background to load
 * the binding code into this frame. Pages that never bind a field pay for this file only.
 */
import { browser } from 'wxt/browser';
import { pageKey, type OneOff } from '../messages';
import { STORAGE, storedServerUrl } from '../storage-keys';
import { FIELD_SELECTOR, deepActiveElement } from './fields';
import { frameHint } from '../place';

export function startDetector(): void {
  const start = performance.now();
  let requested = false;
  const load = (): void => {
    if (requested) return;
    requested = true;
    document.removeEventListener('focusin', onFocus, true);
    void browser.runtime.sendMessage({ t: 'load-binding' } satisfies OneOff).catch(() => {
      requested = false; // the background was restarting: try again on the next focus
    });
  };
  const onFocus = (): void => {
    // A field; an ARIA textbox (editors that take typing through neither a text control nor
    // contenteditable, as Monaco's EditContext element in Chromium: found by their root once the
    // code is in); or an editor whose content is an iframe's body (TinyMCE), bound from this page.
    if (deepActiveElement()?.matches(`${FIELD_SELECTOR}, [role=textbox], iframe.tox-edit-area__iframe`)) load();
  };
  document.addEventListener('focusin', onFocus, true);
  // Focus moving into a child frame (TinyMCE's) fires no focusin here: the window blurs, and the frame is the active element.
  addEventListener('blur', () => setTimeout(onFocus, 0));
  browser.runtime.onMessage.addListener((message: unknown) => {
    if ((message as { t?: unknown }).t === 'collaborate-focused') load();
  });
  void browser.storage.local.get([STORAGE.serverUrl, STORAGE.boundPages]).then((stored) => {
    const server = new URL(storedServerUrl(stored)).origin;
    const pages = Array.isArray(stored[STORAGE.boundPages]) ? (stored[STORAGE.boundPages] as string[]) : [];
    // A Tandem server's pages say so (the extension offers to use that server, or opens links).
    const serverPage = location.origin === server || document.querySelector('meta[name="tandem-server"]') !== null;
    if (serverPage || pages.includes(frameHint(self.origin, pageKey(location.href)))) load();
  });
  onFocus();
  if (document.documentElement.hasAttribute('data-tandem-measure')) performance.measure('tandem:detector', { start });
}

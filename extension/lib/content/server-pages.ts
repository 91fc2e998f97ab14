/**
 * A Tandem server's own pages, seen by the binding code: the offer to use that server, and a
 * share link's actions (open where it was written, or bind a field elsewhere).
 */
import { browser } from 'wxt/browser';
import type { FieldToBackground } from '../messages';
import { STORAGE, storedServerUrl } from '../storage-keys';
import type { PageUi } from './ui';

/**
 * On a Tandem server's pages: offer to use that server (its pages carry
 * `<meta name="tandem-server">`), and on a share link's page (`/d/<id>#<token>`) reveal the
 * page's extension actions: open where it was written, or bind a field elsewhere.
 */
export async function handleServerPages(post: (m: FieldToBackground) => void, ui: PageUi): Promise<void> {
  const meta = document.querySelector('meta[name="tandem-server"]');
  if (!meta) return;
  const stored = await browser.storage.local.get(STORAGE.serverUrl);
  const configured = new URL(storedServerUrl(stored)).origin;
  const connect = document.getElementById('tandem-use-server');
  if (connect instanceof HTMLButtonElement) {
    const status = document.getElementById('tandem-extension-status');
    if (status) status.textContent = configured === location.origin ? 'The Tandem extension is installed and uses this server.' : `The Tandem extension is installed and uses ${configured}.`;
    connect.hidden = configured === location.origin;
    connect.addEventListener('click', (event) => {
      if (!event.isTrusted) return;
      // Any page can carry this meta tag and button: the person confirms in our own UI, which names the origin.
      void ui.confirm(`Tandem: send the text you collaborate on to ${location.origin} from now on?`, `Use ${location.host}`).then((yes) => {
        if (!yes) return;
        post({ t: 'use-server', origin: location.origin });
        connect.hidden = true;
        if (status) status.textContent = 'The Tandem extension is installed and uses this server.';
      });
    });
  }
  const match = /^\/d\/([\w-]+)$/.exec(location.pathname);
  const share = location.hash.slice(1);
  const actions = document.getElementById('tandem-extension-actions');
  if (!match || !actions || configured !== location.origin) return;
  actions.hidden = false;
  const wire = (id: string, mode: 'origin' | 'pick'): void => {
    document.getElementById(id)?.addEventListener('click', (event) => {
      if (!event.isTrusted) return;
      post({ t: 'open-shared', docId: match[1]!, share, mode });
    });
  };
  wire('tandem-open-origin', 'origin');
  wire('tandem-pick-field', 'pick');
}

/**
 * Fields in the page's DOM: which elements Tandem binds, where the focus is (through shadow
 * roots, closed ones included where the browser lets an extension open them).
 */

/**
 * The text fields Tandem binds: text controls, and editable elements. Only the root of an
 * editing host: its editable descendants (`contenteditable` inherits) are part of it, and
 * `contenteditable=false` islands inside one are not fields.
 */
export const FIELD_SELECTOR = [
  'textarea',
  'input:not([type])',
  'input[type="text" i]',
  'input[type="search" i]',
  'input[type="url" i]',
  'input[type="email" i]',
  '[contenteditable]:not([contenteditable="false" i]):not([contenteditable] [contenteditable])',
]
  // The server's own document editor is already collaborative.
  .map((s) => `${s}:not([data-tandem-editor])`)
  .join(', ');

/** The focused element, looking through open shadow roots. */
export function deepActiveElement(): Element | null {
  let el = document.activeElement;
  for (let root = el && shadowRootOf(el); root?.activeElement; root = shadowRootOf(el)) el = root.activeElement;
  return el;
}

/**
 * An element's shadow root, closed ones included where the browser lets an extension open them:
 * `chrome.dom.openOrClosedShadowRoot` in Chromium content scripts, `openOrClosedShadowRoot()` on
 * elements in Firefox's. Pages use closed roots to keep their own scripts out, not us.
 */
export function shadowRootOf(el: Element): ShadowRoot | null {
  if (el.shadowRoot) return el.shadowRoot;
  const chromeDom = (globalThis as { chrome?: { dom?: { openOrClosedShadowRoot?: (e: Element) => ShadowRoot | null } } }).chrome?.dom;
  try {
    // Firefox: a property of elements in content scripts, not a method.
    return chromeDom?.openOrClosedShadowRoot?.(el) ?? (el as Element & { openOrClosedShadowRoot?: ShadowRoot | null }).openOrClosedShadowRoot ?? null;
  } catch {
    return null; // not an element that can host a shadow root
  }
}

/** True for a plain-text editing host (`contenteditable="plaintext-only"`): bound as plain text, no formatting. */
export const isPlaintextOnly = (el: Element): boolean => el.getAttribute('contenteditable')?.toLowerCase() === 'plaintext-only';

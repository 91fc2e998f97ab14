/**
 * The binding code of a frame, loaded on demand by the detector: it draws the controls, binds
 * fields to documents through one port to the background, and handles the server's own pages.
 */
import { browser } from 'wxt/browser';
import {
  BINDING_PORT,
  FIELD_SELECTOR,
  STORAGE,
  deepActiveElement,
  isPlaintextOnly,
  pageKey,
  storedServerUrl,
  type BackgroundToField,
  type FieldToBackground,
} from '../messages';
import { FieldBinding, type BindingOutput, type TextField } from './field-binding';
import { findField, locatorOf, parseLocator, type Locator } from './locator';
import { RichBinding } from './rich-binding';
import { readLayout } from './rich-dom';
import { PageUi } from './ui';

/** A bindable element: a text control, or an editing host (contenteditable). */
export type Field = TextField | HTMLElement;

const isTextControl = (el: Field): el is TextField => el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement;

/** The field's text as the document holds it (formatting aside). */
export const textOf = (el: Field): string => (isTextControl(el) ? el.value : readLayout(el, true).rich.text);

/** The binding for this kind of field: plain text controls, or formatted editing hosts. */
function bindingFor(field: Field, key: string, docId: string, output: BindingOutput): FieldBinding | RichBinding {
  return isTextControl(field) ? new FieldBinding(field, key, docId, output) : new RichBinding(field, key, docId, output, isPlaintextOnly(field));
}

type Mode = 'start' | 'attach' | 'resume';

interface Entry {
  field: Field;
  docId: string | null;
  mode: Mode;
  locator: Locator;
  binding: FieldBinding | RichBinding | null;
}

const STASH_PREFIX = 'tandem:unsent:';

const isField = (el: Element | null): el is Field => el instanceof HTMLElement && el.matches(FIELD_SELECTOR) && !(el as TextField).disabled;

const randomKey = (): string => Math.random().toString(36).slice(2) + Date.now().toString(36);

export function startBindings(): void {
  const g = globalThis as { __tandemBindings?: boolean };
  if (g.__tandemBindings) return; // injected twice (two quick requests): the first one serves
  g.__tandemBindings = true;

  const entries = new Map<string, Entry>();
  const keyOfField = new WeakMap<Field, string>();
  let port: ReturnType<typeof browser.runtime.connect> | null = null;

  const post = (message: FieldToBackground): void => {
    try {
      port?.postMessage(message);
    } catch {
      // The port died between two events: the reconnect resends everything bound.
    }
  };

  const ui = new PageUi({
    collaborate: (field) => start(field),
    bindOffered(field, docId) {
      attach(field, docId);
    },
  });

  function start(field: Field): void {
    if (keyOfField.has(field)) return;
    const key = randomKey();
    const locator = locatorOf(field, pageKey(location.href));
    entries.set(key, { field, docId: null, mode: 'start', locator, binding: null });
    keyOfField.set(field, key);
    ui.showControl(null);
    post({ t: 'start', key, text: textOf(field), locator: JSON.stringify(locator), pageUrl: location.href, title: document.title });
  }

  function attach(field: Field, docId: string): void {
    if (keyOfField.has(field)) return;
    const key = randomKey();
    const locator = locatorOf(field, pageKey(location.href));
    entries.set(key, { field, docId, mode: 'attach', locator, binding: null });
    keyOfField.set(field, key);
    ui.showControl(null);
    ui.setOffer(null);
    post({ t: 'attach', key, docId, locator: JSON.stringify(locator) });
  }

  function forget(key: string): void {
    const entry = entries.get(key);
    if (!entry) return;
    entry.binding?.stop();
    ui.removeBadge(entry.field);
    keyOfField.delete(entry.field);
    entries.delete(key);
  }

  function onMessage(message: BackgroundToField): void {
    switch (message.t) {
      case 'bound': {
        const entry = entries.get(message.key);
        if (!entry) return;
        entry.docId = message.docId;
        entry.binding?.stop();
        const key = message.key;
        const binding = bindingFor(entry.field, key, message.docId, {
          edit: (edit, opening) => post({ t: 'edit', key, ...edit, ...(opening ? { opening } : {}) }),
          undo: (redo) => post({ t: 'undo', key, redo }),
        });
        entry.binding = binding;
        binding.onSelection = (selection) => post({ t: 'selection', key: message.key, ...selection });
        // A new document or a resumed binding: the field holds the latest text. Joining: the document's text wins.
        binding.begin(message, entry.mode !== 'attach');
        const stash = takeStash(message.docId);
        if (stash) binding.replay(stash.base, stash.text);
        if (entry.field.matches(':focus')) binding.reportSelection(); // bound while the person is in it
        if (message.link) {
          const link = message.link;
          navigator.clipboard.writeText(link).then(
            () => ui.notify(entry.field, 'Collaborating. The link is copied: send it to whoever should join.'),
            () => ui.notify(entry.field, 'Collaborating. Copy the link from the Tandem toolbar button.'),
          );
        }
        return;
      }
      case 'remote':
        entries.get(message.key)?.binding?.receive(message);
        return;
      case 'ack':
        entries.get(message.key)?.binding?.acknowledge(message.seen);
        return;
      case 'presence': {
        const entry = entries.get(message.key);
        const binding = entry?.binding;
        if (!entry || !binding) return;
        // Offsets were measured in the document; the field may hold typing the document has not seen yet.
        const at = (pos: number | null): number | null => (pos === null ? null : binding.positionFromDocument(message.seen, pos));
        ui.setPresence(
          entry.field,
          message.peers.map((p) => ({ ...p, anchor: at(p.anchor), head: at(p.head) })),
          message.me,
          binding instanceof RichBinding ? binding.offsetToRange : undefined,
        );
        return;
      }
      case 'status': {
        const entry = entries.get(message.key);
        if (!entry) return;
        if (entry.binding) entry.binding.readOnly = message.status.permission === 'read';
        ui.setStatus(entry.field, message.status);
        return;
      }
      case 'failed': {
        const entry = entries.get(message.key);
        ui.notify(entry?.field ?? null, message.message, message.signIn ? { href: message.signIn, text: 'Sign in' } : undefined);
        forget(message.key);
        return;
      }
      case 'autobind': {
        const locator = parseLocator(message.locator);
        if (!locator || locator.frame !== pageKey(location.href)) return;
        void waitForField(locator).then((field) => field && attach(field, message.docId));
        return;
      }
      case 'offer':
        ui.setOffer({ docId: message.docId, title: message.title });
        return;
      case 'server-used':
        ui.notify(null, `Tandem now syncs through ${message.origin}.`);
        return;
      case 'collaborate-focused': {
        const el = deepActiveElement();
        if (isField(el)) start(el); // same path as the button, so the result is the same
        return;
      }
      default:
        return; // a newer background's message: ignored rather than trusted
    }
  }

  function connect(): void {
    const p = browser.runtime.connect({ name: BINDING_PORT });
    port = p;
    p.onMessage.addListener((m: unknown) => onMessage(m as BackgroundToField));
    p.onDisconnect.addListener(() => {
      if (port !== p) return;
      port = null;
      // The background restarted (a Chrome service worker does): reconnect, and resume every
      // bound field from what it holds now. If the extension itself is gone (updated, reloaded,
      // removed), connecting throws: this frame is orphaned.
      setTimeout(() => {
        try {
          if (!browser.runtime?.id) throw new Error('extension context invalidated');
          connect();
        } catch {
          orphaned();
          return;
        }
        for (const [key, entry] of entries) {
          if (!entry.docId) {
            forget(key);
            continue;
          }
          entry.binding?.stop();
          entry.binding = null;
          entry.mode = 'resume';
          post({ t: 'resume', key, docId: entry.docId, text: textOf(entry.field), locator: JSON.stringify(entry.locator) });
        }
      }, 100);
    });
  }

  /**
   * This frame can no longer reach the extension. The text stays in the field, and what was not
   * sent waits in this tab's session storage for the next binding on this page to pick up.
   */
  function orphaned(): void {
    for (const entry of entries.values()) {
      if (entry.docId && entry.binding) {
        // Kept current as the person goes on typing, until the page goes away.
        const base = entry.binding.agreedText;
        const docId = entry.docId;
        const field = entry.field;
        const save = (): void => sessionStorage.setItem(STASH_PREFIX + docId, JSON.stringify({ base, text: textOf(field) } satisfies Stash));
        save();
        field.addEventListener('input', save);
        addEventListener('pagehide', save);
        setInterval(save, 500);
      }
      entry.binding?.stop();
      ui.setStatus(entry.field, { connection: 'offline', unsaved: 0, keptLocally: false, permission: null, problem: 'Tandem was updated or turned off: reload the page to keep collaborating (your text is kept)' });
    }
  }
  connect();

  // A field the page removed and added again (re-render): bind the new element.
  setInterval(() => {
    for (const [key, entry] of entries) {
      if (entry.field.isConnected || !entry.docId) continue;
      const again = findField(entry.locator);
      if (!again) continue;
      const docId = entry.docId;
      post({ t: 'stop', key });
      forget(key);
      attach(again, docId);
    }
  }, 500);

  const onFocus = (): void => {
    const el = deepActiveElement();
    ui.showControl(isField(el) && !keyOfField.has(el) ? el : null);
  };
  document.addEventListener('focusin', onFocus, true);
  onFocus();

  void handleServerPages(post, ui);
}

/** What an extension update interrupted: the text last agreed with the document, and the field's text then. */
interface Stash {
  base: string;
  text: string;
}

function takeStash(docId: string): Stash | null {
  const raw = sessionStorage.getItem(STASH_PREFIX + docId);
  if (raw === null) return null;
  sessionStorage.removeItem(STASH_PREFIX + docId);
  try {
    const stash = JSON.parse(raw) as Partial<Stash>;
    return typeof stash.base === 'string' && typeof stash.text === 'string' ? { base: stash.base, text: stash.text } : null;
  } catch {
    return null; // written by the page, not us: ignored
  }
}

async function waitForField(locator: Locator, timeoutMs = 15_000): Promise<Field | null> {
  const found = findField(locator);
  if (found) return found;
  return new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const field = findField(locator);
      if (!field) return;
      observer.disconnect();
      clearTimeout(timer);
      resolve(field);
    });
    observer.observe(document, { childList: true, subtree: true });
    const timer = setTimeout(() => {
      observer.disconnect();
      resolve(null);
    }, timeoutMs);
  });
}

/**
 * On a Tandem server's pages: offer to use that server (its pages carry
 * `<meta name="tandem-server">`), and on a share link's page (`/d/<id>#<token>`) reveal the
 * page's extension actions: open where it was written, or bind a field elsewhere.
 */
async function handleServerPages(post: (m: FieldToBackground) => void, ui: PageUi): Promise<void> {
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

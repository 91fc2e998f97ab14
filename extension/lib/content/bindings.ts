/**
 * The binding code of a frame, loaded on demand by the detector: it draws the controls, binds
 * fields to documents through one port to the background, and handles the server's own pages.
 */
import { browser } from 'wxt/browser';
import { BINDING_PORT, pageKey, type BackgroundToField, type FieldToBackground, type OneOff } from '../messages';
import { FIELD_SELECTOR, deepActiveElement, isPlaintextOnly } from './fields';
import { EditorBinding, type Attached } from './editor-binding';
import { boundFromOutside, editorAt, type EditorMatch } from './editors';
import { FieldBinding, type BindingOutput, type TextField } from './field-binding';
import { framePath } from '../place';
import { findField, locatorOf, parseLocator, type Locator } from './locator';
import { PageLink } from './page-link';
import { RichBinding } from './rich-binding';
import { readLayout } from './rich-dom';
import { handleServerPages } from './server-pages';
import { PageUi } from './ui';

/** A bindable element: a text control, or an editing host (contenteditable). */
export type Field = TextField | HTMLElement;

const isTextControl = (el: Field): el is TextField => el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement;

/** Framework editors met in this frame, by their root (the element that stands for the field). */
const editors = new WeakMap<Field, EditorMatch>();

/**
 * The field a focused element stands for: the root of the framework editor it is part of (its
 * hidden textarea or content element is never a field of its own), else itself when it is one.
 */
function fieldAt(el: Element | null): Field | null {
  const editor = editorAt(el);
  if (editor) {
    if (boundFromOutside(editor)) return null;
    editors.set(editor.root, editor);
    return editor.root;
  }
  return isField(el) ? el : null;
}

/** Editors attached to their adapters, waiting for their binding (attach answers synchronously once the page script is in). */
const attachedLinks = new WeakMap<Field, { link: PageLink; attached: Attached }>();

/**
 * Connects a framework editor to its page-world adapter: loads the adapter script into this
 * frame's page, then finds the editor's instance. A string says why it cannot be bound.
 */
async function attachEditor(editor: EditorMatch): Promise<string | null> {
  if (editor.refusal) return editor.refusal;
  const existing = attachedLinks.get(editor.root);
  if (existing) return null;
  try {
    await browser.runtime.sendMessage({ t: 'load-adapters' } satisfies OneOff);
  } catch (error) {
    return `the editor adapter could not be loaded (${(error as Error).message})`;
  }
  const link = new PageLink(editor.root);
  await link.prepare({ op: 'prepare', kind: editor.kind });
  const reply = link.call({ op: 'attach', kind: editor.kind });
  if (!reply.ok || !('attached' in reply)) {
    link.close();
    return reply.ok ? 'the editor adapter gave no answer' : reply.reason;
  }
  attachedLinks.set(editor.root, { link, attached: { rich: reply.attached.rich, styles: new Set(reply.attached.styles) } });
  return null;
}

/** The field's text as the document holds it (formatting aside). */
export function textOf(el: Field): string {
  const link = attachedLinks.get(el)?.link;
  if (link) {
    const reply = link.call({ op: 'read' });
    return reply.ok && 'read' in reply ? reply.read.text : '';
  }
  return isTextControl(el) ? el.value : readLayout(el, true).rich.text;
}

type Binding = FieldBinding | RichBinding | EditorBinding;

/** The binding for this kind of field: plain text controls, formatted editing hosts, or a framework editor through its adapter. */
function bindingFor(field: Field, key: string, docId: string, output: BindingOutput): Binding {
  const editor = editors.get(field);
  if (editor) {
    let pending = attachedLinks.get(field);
    attachedLinks.delete(field);
    if (!pending) {
      // Bound again (the background restarted): the adapter script is in the page already.
      const link = new PageLink(field);
      const reply = link.call({ op: 'attach', kind: editor.kind });
      if (!reply.ok || !('attached' in reply)) throw new Error(reply.ok ? 'the editor adapter gave no answer' : reply.reason);
      pending = { link, attached: { rich: reply.attached.rich, styles: new Set(reply.attached.styles) } };
    }
    return new EditorBinding(field, key, docId, output, pending.link, pending.attached);
  }
  return isTextControl(field) ? new FieldBinding(field, key, docId, output) : new RichBinding(field, key, docId, output, isPlaintextOnly(field));
}

type Mode = 'start' | 'attach' | 'resume';

interface Entry {
  field: Field;
  docId: string | null;
  mode: Mode;
  locator: Locator;
  binding: Binding | null;
}

const STASH_PREFIX = 'tandem:unsent:';

/** A field Tandem offers to bind: not disabled or read-only (the person cannot edit it, and the page would submit nothing of it). */
const isField = (el: Element | null): el is Field => el instanceof HTMLElement && el.matches(FIELD_SELECTOR) && !(el as TextField).disabled && !(el as TextField).readOnly;

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
    collaborate: (field) => void start(field),
    bindOffered(field, docId) {
      void attach(field, docId);
    },
  });

  /** A framework editor is first connected to its adapter; false (and the person told why) when it cannot be. */
  async function ready(field: Field): Promise<boolean> {
    // One shared field inside another (a code block in a rich-text editor) would have each
    // write into the other's text: the second one is refused.
    const nested = [...entries.values()].find((e) => e.field !== field && e.field.isConnected && (e.field.contains(field) || field.contains(e.field)));
    if (nested) {
      const where = nested.field.contains(field) ? 'it is inside a field that is already shared' : 'it holds a field that is already shared';
      ui.notify(field, `Tandem cannot collaborate here: ${where}. Nothing in it was changed.`);
      return false;
    }
    const editor = editors.get(field);
    if (!editor) return true;
    const refusal = await attachEditor(editor);
    if (refusal === null) return true;
    ui.notify(field, `Tandem cannot collaborate in this editor: ${refusal}. Nothing in it was changed.`);
    return false;
  }

  async function start(field: Field): Promise<void> {
    if (keyOfField.has(field) || !(await ready(field)) || keyOfField.has(field)) return;
    const key = randomKey();
    const locator = locatorOf(field);
    entries.set(key, { field, docId: null, mode: 'start', locator, binding: null });
    keyOfField.set(field, key);
    ui.showControl(null);
    post({ t: 'start', key, text: textOf(field), locator: JSON.stringify(locator), pageUrl: location.href, title: document.title });
  }

  /**
   * Binds a field to a document that wins over the field's text. `expected`: the text the field
   * may hold for that (a re-rendered field: empty, or the text its old element agreed with the
   * document); with other text it is another field, or someone's draft, and is left alone.
   */
  async function attach(field: Field, docId: string, expected?: string): Promise<void> {
    if (keyOfField.has(field) || !(await ready(field)) || keyOfField.has(field)) return;
    const text = expected === undefined ? '' : textOf(field);
    if (text !== '' && text !== expected) {
      attachedLinks.get(field)?.link.close();
      attachedLinks.delete(field);
      ui.notify(field, 'Tandem stopped sharing this field: the page replaced it with one that holds other text, which was left as it is.');
      return;
    }
    const key = randomKey();
    const locator = locatorOf(field);
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
        let binding: Binding;
        try {
          binding = bindingFor(entry.field, key, message.docId, {
            edit: (edit, opening) => post({ t: 'edit', key, ...edit, ...(opening ? { opening } : {}) }),
            undo: (redo) => post({ t: 'undo', key, redo }),
          });
        } catch (error) {
          ui.notify(entry.field, `Tandem cannot collaborate in this editor: ${(error as Error).message}. Nothing in it was changed.`);
          post({ t: 'stop', key });
          forget(key);
          return;
        }
        entry.binding = binding;
        binding.onBroken = (reason) => {
          ui.notify(entry.field, `Tandem stopped collaborating in this ${binding instanceof FieldBinding ? 'field' : 'editor'}: ${reason}. Its text was left as it is.`);
          post({ t: 'stop', key });
          forget(key);
        };
        binding.onSelection = (selection) => post({ t: 'selection', key: message.key, ...selection });
        if (binding instanceof EditorBinding) binding.onMoved = () => ui.editorMoved();
        // A new document or a resumed binding: the field holds the latest text. Joining: the document's text wins.
        binding.begin(message, entry.mode !== 'attach');
        if (entries.get(key) !== entry) return; // it could not hold the document: stopped, and said so
        const stash = takeStash(message.docId, entry.locator);
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
          binding instanceof RichBinding ? binding.offsetToRange : binding instanceof EditorBinding ? { boxes: (s, e) => binding.rects([[s, e]])[0] ?? [] } : undefined,
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
        if (!locator || locator.frame !== pageKey(location.href) || locator.path !== framePath()) return;
        void waitForField(locator).then((found) => {
          const field = found && fieldAt(found);
          if (field) void attach(field, message.docId);
        });
        return;
      }
      case 'offer':
        ui.setOffer({ docId: message.docId, title: message.title });
        return;
      case 'server-used':
        ui.notify(null, `Tandem now syncs through ${message.origin}.`);
        return;
      case 'collaborate-focused': {
        // The shortcut reaches every frame of the tab: only the one with the focus acts. (A frame
        // whose body is an editor has that body as its active element even when unfocused.)
        if (!document.hasFocus()) return;
        const field = fieldAt(deepActiveElement());
        if (field) void start(field); // same path as the button, so the result is the same
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
    post({ t: 'hello', origin: self.origin, path: framePath() });
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
          const text = entry.binding instanceof EditorBinding ? entry.binding.currentText() : textOf(entry.field);
          entry.binding?.stop();
          entry.binding = null;
          entry.mode = 'resume';
          post({ t: 'resume', key, docId: entry.docId, text, locator: JSON.stringify(entry.locator) });
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
        const binding = entry.binding;
        const read = binding instanceof EditorBinding ? () => binding.currentText() : () => textOf(field);
        const locator = JSON.stringify(entry.locator);
        const save = (): void => sessionStorage.setItem(STASH_PREFIX + docId, JSON.stringify({ base, text: read(), locator } satisfies Stash));
        save();
        field.addEventListener('input', save);
        addEventListener('pagehide', save);
        setInterval(save, 500);
      }
      if (entry.binding instanceof EditorBinding) entry.binding.stop(true);
      else entry.binding?.stop();
      ui.setStatus(entry.field, {
        connection: 'offline',
        unsaved: 0,
        keptLocally: false,
        permission: null,
        problem: 'Tandem was updated or turned off: reload the page to keep collaborating (your text is kept)',
      });
    }
  }
  connect();
  // The shortcut and the context menu come as one-off messages to the tab's frames, not over the port.
  browser.runtime.onMessage.addListener((message: unknown) => {
    if ((message as { t?: unknown } | null)?.t === 'collaborate-focused') onMessage({ t: 'collaborate-focused' });
  });

  // A field the page removed and added again (re-render): bind the new element. An editor put
  // back in the page takes the changes that came while it was out.
  setInterval(() => {
    for (const [key, entry] of entries) {
      if (entry.field.isConnected && entry.binding instanceof EditorBinding) entry.binding.applyHeld();
      if (entry.field.isConnected || !entry.docId) continue;
      // Only on the page the field was bound on: a single-page site that moved to another page
      // has fields of the same id that are other fields.
      if (entry.locator.frame !== pageKey(location.href) || entry.locator.path !== framePath()) continue;
      const found = findField(entry.locator);
      const again = found && fieldAt(found);
      if (!again) continue;
      const docId = entry.docId;
      const agreed = entry.binding?.agreedText;
      post({ t: 'stop', key });
      forget(key);
      void attach(again, docId, agreed);
    }
  }, 500);

  const onFocus = (): void => {
    const field = fieldAt(deepActiveElement());
    ui.showControl(field && !keyOfField.has(field) ? field : null);
  };
  document.addEventListener('focusin', onFocus, true);
  // Focus moving into a child frame (TinyMCE's) fires no focusin here: the window blurs, and the
  // frame is the active element; from one frame to another, nothing at all fires here.
  addEventListener('blur', () => setTimeout(onFocus, 0));
  let lastActive: Element | null = null;
  setInterval(() => {
    const active = document.activeElement;
    if (active === lastActive) return;
    lastActive = active;
    if (active instanceof HTMLIFrameElement) onFocus();
  }, 250);
  onFocus();

  void handleServerPages(post, ui);
}

/**
 * What an extension update interrupted: the text last agreed with the document, the field's text
 * then, and which field it was (session storage is the origin's: every frame of it in this tab
 * reads it, and the text goes back only into the field it came from).
 */
interface Stash {
  base: string;
  text: string;
  locator: string;
}

function takeStash(docId: string, locator: Locator): Stash | null {
  const raw = sessionStorage.getItem(STASH_PREFIX + docId);
  if (raw === null) return null;
  try {
    const stash = JSON.parse(raw) as Partial<Stash>;
    if (stash.locator !== JSON.stringify(locator)) return null; // another field's: left for it
    sessionStorage.removeItem(STASH_PREFIX + docId);
    return typeof stash.base === 'string' && typeof stash.text === 'string' ? { base: stash.base, text: stash.text, locator: stash.locator } : null;
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

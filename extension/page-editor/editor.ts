/**
 * The editor on the server's document page (`/d/<id>#<share token>`), for people without the
 * extension: a contenteditable with the same rich binding as the content script, the document
 * in the page and a cookie-authenticated socket to its own origin. A small toolbar and
 * Ctrl/Cmd+B/I/U format; Ctrl/Cmd+Z undoes this person's changes only. Read-only for viewers.
 */
import { LoroDoc, UndoManager, type Cursor } from 'loro-crdt'; // aliased to loro-crdt/web by the build
import initLoro from 'loro-crdt/web/loro_wasm.js';
import { SyncClient, type SyncClientOptions } from '../../shared/client/sync-client';
import { TEXT_CONTAINER, configureText } from '../../shared/document';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { IDLE_AFTER_MS, encodeSelection, parsePeerState, peerStateValue, resolvePeer, type OwnPeerState, type RemotePeer } from '../../shared/presence';
import { TextChannel } from '../../shared/text/channel';
import type { TextDelta } from '../../shared/text/delta';
import { OPENING_ORIGIN, applyEdit } from '../../shared/text/loro-edit';
import { UndoSteps } from '../../shared/text/undo-steps';
import { PresenceOverlay } from '../lib/content/presence-overlay';
import { RichBinding } from '../lib/content/rich-binding';
import { showHistory } from './history-panel';

const UNDO_PAUSE_MS = 1_000;

/** Where Loro's WebAssembly is served: a hashed, immutably cached file (build-page-editor.mjs). */
declare const LORO_WASM_URL: string;

async function main(): Promise<void> {
  const field = document.getElementById('tandem-editor');
  const status = document.getElementById('tandem-editor-status');
  const toolbar = document.getElementById('tandem-toolbar');
  const match = /^\/d\/([\w-]+)$/.exec(location.pathname);
  if (!field || !status || !match) return;
  const docId = match[1]!;
  // Compiled while the socket is not open yet; streamed from the binary file.
  await initLoro({ module_or_path: LORO_WASM_URL });
  const share = location.hash.slice(1);

  const doc = new LoroDoc();
  configureText(doc);
  const text = doc.getText(TEXT_CONTAINER);
  const client = new SyncClient({
    url: `${location.origin.replace(/^http/, 'ws')}/sync`,
    WebSocket: WebSocket as unknown as SyncClientOptions['WebSocket'],
    onError: (error) => console.warn('[tandem]', error.message),
  });
  const room = await client.open(docId, doc, undefined, share ? encodeJoinAuth({ share }) : new Uint8Array(0));
  const show = (): void => {
    const live = client.status === 'open' && room.status === 'live';
    status.textContent =
      room.status === 'failed'
        ? `Stopped: ${room.error?.reason === 'not_found' || room.error?.reason === 'auth_failed' ? 'this link does not open a document (revoked, or not yours)' : (room.error?.message ?? '')}`
        : `${live ? 'Live' : 'Connecting…'} · ${room.permission === 'read' ? 'view only · ' : ''}${room.unacknowledged === 0 ? 'saved' : `${room.unacknowledged} unsaved`}`;
    status.dataset.state = room.status === 'failed' ? 'failed' : live ? (room.unacknowledged === 0 ? 'saved' : 'saving') : 'offline';
  };
  room.onChange(show);
  client.onStatus(show);
  show();
  await room.whenSynced();

  // The document side of the channel lives in the page; messages cross in a microtask. The
  // page's changes are local changes of this doc, so its undo manager undoes only them.
  const undo = new UndoSteps<Cursor>(new UndoManager(doc, { mergeInterval: 0, maxUndoSteps: 20_000, excludeOriginPrefixes: [OPENING_ORIGIN] }), doc, text, {
    pauseMs: UNDO_PAUSE_MS,
    maxSteps: 500,
  });
  const docSide = new TextChannel(true);
  let undoing = false;
  const binding = new RichBinding(
    field,
    'page',
    docId,
    {
      edit(message, opening) {
        queueMicrotask(() => {
          const delta = docSide.receive(message);
          undo.commit(delta, () => applyEdit(text, delta), null, opening);
        });
      },
      undo(redo) {
        queueMicrotask(() => {
          undoing = true;
          try {
            if (redo) undo.redo();
            else undo.undo();
          } finally {
            undoing = false;
          }
        });
      },
    },
    false,
  );
  doc.subscribe((event) => {
    if (event.by === 'local' && !undoing) return; // the binding's own edit: it shows it already
    for (const e of event.events) {
      if (e.diff.type !== 'text' || e.target !== text.id) continue;
      const message = { ...docSide.send(e.diff.diff as TextDelta), caret: undoing };
      queueMicrotask(() => binding.receive(message));
    }
  });
  binding.begin({ content: text.toDelta() as TextDelta }, false);
  const readOnly = room.permission !== 'write';
  binding.readOnly = readOnly;
  field.contentEditable = readOnly ? 'false' : 'true';
  field.setAttribute('aria-readonly', String(readOnly));
  if (toolbar) {
    toolbar.hidden = readOnly;
    wireToolbar(toolbar, field, () => binding.flushLocal());
  }
  show();
  void showHistory(docId, !readOnly);
  await showPresence({ client, docId, doc, text, docSide, binding, field, status });
}

/**
 * The same presence as the extension's: this page's caret goes to the document's %EPH room as
 * Loro cursors, and everyone else's carets are drawn over the editor (viewers take part too).
 */
async function showPresence(p: {
  client: SyncClient;
  docId: string;
  doc: LoroDoc;
  text: ReturnType<LoroDoc['getText']>;
  docSide: TextChannel;
  binding: RichBinding;
  field: HTMLElement;
  status: HTMLElement;
}): Promise<void> {
  const { client, docId, doc, text, docSide, binding, field, status } = p;
  const presence = client.presence(docId);
  const me = (await fetch('/api/me', { credentials: 'same-origin' }).then(
    (r) => (r.ok ? r.json() : null),
    () => null,
  )) as { user: { id: string; displayName: string; email: string } } | null;
  // Only to leave this person's other tabs out of "Also here": who an entry is, the server stamps.
  const myAccount = me?.user.id ?? null;
  const key = `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const mine: OwnPeerState = { anchor: null, head: null, idle: false };
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  const active = (): void => {
    mine.idle = false;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      mine.idle = true;
      presence.set(key, peerStateValue(mine));
    }, IDLE_AFTER_MS);
    presence.set(key, peerStateValue(mine));
  };
  binding.onSelection = ({ anchor, head, seen }) => {
    // After the edits sent before it, which cross in microtasks too.
    queueMicrotask(() => {
      Object.assign(mine, encodeSelection(text, docSide.positionFrom(seen, anchor), docSide.positionFrom(seen, head)));
      active();
    });
  };
  addEventListener('pagehide', () => presence.delete(key));
  active();
  if (field.matches(':focus')) binding.reportSelection();

  const overlay = PresenceOverlay.standalone();
  const others = document.createElement('p');
  others.dataset.tandem = 'peers';
  status.after(others);
  let scheduled = false;
  const redraw = (): void => {
    if (scheduled) return;
    scheduled = true;
    // After this task's remote deltas reached the field (they cross in microtasks).
    queueMicrotask(() =>
      queueMicrotask(() => {
        scheduled = false;
        const peers: RemotePeer[] = [];
        for (const [id, value] of presence.others()) {
          const state = parsePeerState(value);
          if (!state) continue;
          const peer = resolvePeer(doc, id, state);
          const at = (pos: number | null): number | null => (pos === null ? null : binding.positionFromDocument(docSide.seen, pos));
          peers.push({ ...peer, anchor: at(peer.anchor), head: at(peer.head) });
        }
        overlay.set(field, peers, binding.offsetToRange);
        const names = [...new Set(peers.filter((x) => x.user !== myAccount).map((x) => x.name))];
        others.dataset.count = String(names.length);
        others.textContent = names.length === 0 ? '' : `Also here: ${names.join(', ')}`;
      }),
    );
  };
  presence.onChange(redraw);
  doc.subscribe(redraw);
  field.addEventListener('input', redraw);
  redraw();
}

/** Formatting commands: the browser's own where it has one (they fire `input`, which the binding reads). */
const COMMANDS: Record<string, string> = { bold: 'bold', italic: 'italic', underline: 'underline', strike: 'strikeThrough' };
const SHORTCUTS: Record<string, string> = { b: 'bold', i: 'italic', u: 'underline' };

function wireToolbar(toolbar: HTMLElement, field: HTMLElement, changed: () => void): void {
  const run = (format: string): void => {
    field.focus();
    const command = COMMANDS[format];
    if (command) document.execCommand(command);
    else if (format === 'code') toggleCode(field);
    else if (format === 'link') {
      const href = prompt('Link address (empty removes the link)', 'https://');
      if (href === null) return;
      if (href.trim() === '') document.execCommand('unlink');
      else document.execCommand('createLink', false, href.trim());
    }
    changed();
  };
  for (const button of toolbar.querySelectorAll<HTMLButtonElement>('button[data-format]')) {
    button.addEventListener('mousedown', (event) => event.preventDefault()); // keeps the selection in the editor
    button.addEventListener('click', () => run(button.dataset.format!));
  }
  field.addEventListener('keydown', (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    const format = SHORTCUTS[event.key.toLowerCase()];
    if (!format) return;
    event.preventDefault();
    run(format);
  });
}

/** Code has no editing command: wraps the selection in <code>, or unwraps the <code> it is in. */
function toggleCode(field: HTMLElement): void {
  const selection = document.getSelection();
  if (!selection || selection.rangeCount === 0) return;
  const range = selection.getRangeAt(0);
  if (!field.contains(range.commonAncestorContainer)) return;
  for (let n: Node | null = range.commonAncestorContainer; n && n !== field; n = n.parentNode) {
    if (n instanceof HTMLElement && n.tagName === 'CODE') {
      n.replaceWith(...Array.from(n.childNodes));
      return;
    }
  }
  if (range.collapsed) return;
  const code = document.createElement('code');
  code.append(range.extractContents());
  range.insertNode(code);
  selection.selectAllChildren(code);
}

void main();

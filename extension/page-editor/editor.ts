/**
 * The editor on the server's document page (`/d/<id>#<share token>`), for people without the
 * extension: the same field binding as the content script, with the document in the page and a
 * cookie-authenticated socket to its own origin. Read-only for viewers.
 */
import { LoroDoc } from 'loro-crdt'; // aliased to loro-crdt/base64 by the build
import { SyncClient, type SyncClientOptions } from '../../shared/client/sync-client';
import { TEXT_CONTAINER } from '../../shared/document';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { IDLE_AFTER_MS, anonymousName, encodeSelection, parsePeerState, peerStateValue, resolvePeer, type PeerState, type RemotePeer } from '../../shared/presence';
import { TextChannel } from '../../shared/text/channel';
import type { TextDelta } from '../../shared/text/delta';
import { FieldBinding } from '../lib/content/field-binding';
import { PresenceOverlay } from '../lib/content/presence-overlay';

async function main(): Promise<void> {
  const field = document.getElementById('tandem-editor') as HTMLTextAreaElement | null;
  const status = document.getElementById('tandem-editor-status');
  const match = /^\/d\/([\w-]+)$/.exec(location.pathname);
  if (!field || !status || !match) return;
  const docId = match[1]!;
  const share = location.hash.slice(1);

  const doc = new LoroDoc();
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
        ? `Stopped: ${room.error?.reason === 'not_found' || room.error?.reason === 'auth_failed' ? 'this link does not open a document (revoked, or not yours)' : room.error?.message ?? ''}`
        : `${live ? 'Live' : 'Connecting…'} · ${room.permission === 'read' ? 'view only · ' : ''}${room.unacknowledged === 0 ? 'saved' : `${room.unacknowledged} unsaved`}`;
    status.dataset.state = room.status === 'failed' ? 'failed' : live ? (room.unacknowledged === 0 ? 'saved' : 'saving') : 'offline';
  };
  room.onChange(show);
  client.onStatus(show);
  show();
  await room.whenSynced();

  // The document side of the channel lives in the page; messages cross in a microtask.
  const docSide = new TextChannel(true);
  const binding = new FieldBinding(field, 'page', docId, (message) => {
    queueMicrotask(() => {
      const delta = docSide.receive(message);
      let at = 0;
      for (const op of delta) {
        if ('retain' in op) at += op.retain;
        else if ('delete' in op) text.delete(at, op.delete);
        else {
          text.insert(at, op.insert);
          at += op.insert.length;
        }
      }
      doc.commit();
    });
  });
  doc.subscribe((event) => {
    if (event.by === 'local') return;
    for (const e of event.events) {
      if (e.diff.type !== 'text' || e.target !== text.id) continue;
      const message = docSide.send(e.diff.diff as TextDelta);
      queueMicrotask(() => binding.receive(message));
    }
  });
  binding.begin(text.toString(), false);
  const readOnly = room.permission !== 'write';
  binding.readOnly = readOnly;
  field.readOnly = readOnly;
  field.disabled = false;
  show();
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
  binding: FieldBinding;
  field: HTMLTextAreaElement;
  status: HTMLElement;
}): Promise<void> {
  const { client, docId, doc, text, docSide, binding, field, status } = p;
  const presence = client.presence(docId);
  const me = (await fetch('/api/me', { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null), () => null)) as { user: { id: string; displayName: string; email: string } } | null;
  const anonId = Math.random().toString(36).slice(2, 10);
  const identity = me ? { user: me.user.id, name: me.user.displayName || me.user.email } : { user: `anon:${anonId}`, name: anonymousName(anonId) };
  const key = `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const mine: PeerState = { ...identity, anchor: null, head: null, idle: false };
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
        overlay.set(field, peers);
        const names = [...new Set(peers.filter((x) => x.user !== identity.user).map((x) => x.name))];
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

void main();

/**
 * The editor on the server's document page (`/d/<id>#<share token>`), for people without the
 * extension: the same field binding as the content script, with the document in the page and a
 * cookie-authenticated socket to its own origin. Read-only for viewers.
 */
import { LoroDoc } from 'loro-crdt'; // aliased to loro-crdt/base64 by the build
import { SyncClient, type SyncClientOptions } from '../../shared/client/sync-client';
import { TEXT_CONTAINER } from '../../shared/document';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { TextChannel } from '../../shared/text/channel';
import type { TextDelta } from '../../shared/text/delta';
import { FieldBinding } from '../lib/content/field-binding';

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
}

void main();

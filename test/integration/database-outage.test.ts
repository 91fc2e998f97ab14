/**
 * While Postgres is unreachable the server relays edits but acknowledges nothing, keeps every socket open,
 * reports not-ready, and catches up by itself when Postgres returns. (Embedded Postgres runs
 * in-process and cannot become unreachable, so this suite needs a real Postgres.)
 */
import { LoroDoc } from 'loro-crdt';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/open-database';
import type { RoomMember } from '../../server/sync/room-member';
import type { SyncClient } from '../../shared/client/sync-client';
import { postgresBackend, type TestDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { storedDoc } from '../helpers/stored';
import { TcpProxy } from '../helpers/tcp-proxy';
import { createDocument, startTestServer, type RunningServer } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

describe.skipIf(!postgresBackend)('database outage (postgres)', () => {
  let db: TestDatabase;
  let proxied: DatabaseHandle;
  let proxy: TcpProxy;
  let server: RunningServer;
  const clients: SyncClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    proxy.restore();
    await server.close();
    await proxied.close();
    await proxy.close();
    await db.drop();
  });

  it('acknowledges nothing while Postgres is away, keeps sockets, and recovers on its own', async () => {
    db = await postgresBackend!.create();
    const target = new URL((db.reopen as { url: string }).url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(target);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    proxied = await openDatabase({ kind: 'postgres', url: viaProxy.toString() });
    server = await startTestServer({ ...db, handle: proxied });

    const docId = await createDocument(server);
    const writer = nodeSyncClient(server.wsUrl, { token: server.token });
    const reader = nodeSyncClient(server.wsUrl, { token: server.token });
    clients.push(writer, reader);
    const a = await writer.open(docId);
    const b = await reader.open(docId);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    a.doc.getText(TEXT).insert(0, 'before. ');
    a.doc.commit();
    await a.whenAcknowledged();
    await waitFor(() => textOf(b.doc) === 'before. ', { what: 'the first edit to reach B' });

    proxy.cut();
    await waitFor(async () => (await fetch(`${server.httpUrl}/readyz`)).status === 503, { what: '/readyz to report not ready' });
    a.doc.getText(TEXT).insert(8, 'during. ');
    a.doc.commit();
    // The server relays the edit (B sees it live) but holds and retries the write: nothing
    // is acknowledged while it is not stored.
    const room = await server.server.rooms.acquireDoc(docId);
    await waitFor(() => room.hasPendingWrites, { what: 'the server to hold the edit' });
    await waitFor(() => textOf(b.doc) === 'before. during. ', { what: 'the held edit to reach B' });
    expect(a.unacknowledged).toBe(1);
    expect(writer.status).toBe('open');
    expect(reader.status).toBe('open');
    // A member joining now (straight into the room: signing in needs the database) gets the
    // relayed-but-unstored edit too, not only what is stored.
    const lateJoiner: RoomMember = { connectionId: -1, deliver: () => {}, evict: () => {} };
    const joined = room.join(lateJoiner, new Uint8Array());
    room.leave(lateJoiner);
    if (!joined.ok) throw new Error('the late joiner was refused');
    const seenByLateJoiner = new LoroDoc();
    seenByLateJoiner.importBatch(joined.catchUp);
    expect(textOf(seenByLateJoiner)).toBe('before. during. ');
    expect(a.unacknowledged).toBe(1);

    proxy.restore();
    await a.whenAcknowledged();
    expect((await fetch(`${server.httpUrl}/readyz`)).status).toBe(200);
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe('before. during. ');
  });
});

/**
 * While Postgres is unreachable the server relays edits but acknowledges nothing, keeps every socket open,
 * reports not-ready, and catches up by itself when Postgres returns. (Embedded Postgres runs
 * in-process and cannot become unreachable, so this suite needs a real Postgres.)
 */
import { LoroDoc } from 'loro-crdt';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { openDatabase, type DatabaseHandle } from '../../db/open-database';
import type { RoomMember } from '../../server/sync/room-member';
import type { SyncClient } from '../../shared/client/sync-client';
import { postgresBackend, type TestDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { storedDoc } from '../helpers/stored';
import { TcpProxy } from '../helpers/tcp-proxy';
import { createDocument, createShareLink, startTestServer, type RunningServer } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

// The official client uses the global WebSocket, which Node 20 does not have.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

describe.skipIf(!postgresBackend)('database outage (postgres)', () => {
  let db: TestDatabase;
  let proxied: DatabaseHandle;
  let proxy: TcpProxy;
  let server: RunningServer;
  const clients: SyncClient[] = [];
  const officialClients: LoroWebsocketClient[] = [];

  /** A server whose Postgres is behind `proxy`, which the test can cut. */
  async function start(): Promise<void> {
    db = await postgresBackend!.create();
    const target = new URL((db.reopen as { url: string }).url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(target);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    proxied = await openDatabase({ kind: 'postgres', url: viaProxy.toString() });
    server = await startTestServer({ ...db, handle: proxied });
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const c of officialClients.splice(0)) c.destroy();
    proxy.restore();
    await server.close();
    await proxied.close();
    await proxy.close();
    await db.drop();
  });

  it('acknowledges nothing while Postgres is away, keeps sockets, and recovers on its own', async () => {
    await start();

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

  it('a join while Postgres is away waits for it to come back: a client that never joins again (the official one) gets its room', async () => {
    await start();
    const docId = await createDocument(server);
    const writer = nodeSyncClient(server.wsUrl, { token: server.token });
    clients.push(writer);
    const a = await writer.open(docId);
    a.doc.getText(TEXT).insert(0, 'stored before the outage');
    a.doc.commit();
    await a.whenAcknowledged();
    const link = await createShareLink(server, docId, 'view');

    proxy.cut();
    await waitFor(async () => (await fetch(`${server.httpUrl}/readyz`)).status === 503, { what: '/readyz to report not ready' });
    // loro-websocket gives up on a room whose join was refused; before, this one was refused at once.
    const official = new LoroWebsocketClient({ url: server.wsUrl, disablePing: true });
    officialClients.push(official);
    await official.waitConnected();
    const doc = new LoroDoc();
    let outcome: 'joined' | Error | null = null;
    const joined = official.join({ roomId: docId, crdtAdaptor: new LoroAdaptor(doc), auth: () => encodeJoinAuth({ share: link.token }) }).then(
      () => (outcome = 'joined'),
      (error: unknown) => (outcome = error as Error),
    );
    await waitFor(() => server.server.metrics.snapshot().joinsWaitingForStorage === 1 || outcome !== null, { what: 'the join to wait for storage' });
    expect(outcome).toBeNull();

    proxy.restore();
    await joined;
    expect(outcome).toBe('joined');
    await waitFor(() => textOf(doc) === 'stored before the outage', { what: 'the official client to get the text' });
    expect(server.server.metrics.snapshot().joinsWaitingForStorage).toBe(0);
  });
});

/**
 * Presence through the %EPH room with SyncClient's PresenceChannel, against the real server:
 * relay, newcomers, departures (close, leave, delete), rejoin after reconnect, expiry, the
 * send throttle, viewers, and Loro cursors that survive concurrent edits.
 */
import { EphemeralStore, LoroDoc } from 'loro-crdt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceChannel, SyncClient } from '../../shared/client/sync-client';
import { encodeJoinAuth, CrdtType, UpdateStatus } from '../../shared/protocol/index';
import { encodeSelection, parsePeerState, peerStateValue, resolvePeer, type PeerState } from '../../shared/presence';
import { backends, type TestDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, createShareLink, startTestServer, type RunningServer } from '../helpers/test-server';
import { TEXT } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

const state = (name: string, extra: Partial<PeerState> = {}): Record<string, string | boolean | Uint8Array | null> =>
  peerStateValue({ user: `u-${name}`, name, anchor: null, head: null, idle: false, ...extra });

describe.each(backends)('presence ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  const clients: SyncClient[] = [];

  beforeEach(async () => {
    db = await backend.create();
    server = await startTestServer(db);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
    await db.drop();
  });

  async function member(docId: string, options: { timeoutMs?: number; share?: string; token?: string | null } = {}): Promise<{ client: SyncClient; presence: PresenceChannel; doc: LoroDoc }> {
    const token = options.token === undefined ? server.token : options.token;
    const client = nodeSyncClient(server.wsUrl, token ? { token } : {});
    clients.push(client);
    const room = await client.open(docId, new LoroDoc(), undefined, options.share ? encodeJoinAuth({ share: options.share }) : new Uint8Array(0));
    await room.whenSynced();
    const presence = client.presence(docId, { timeoutMs: options.timeoutMs });
    await waitFor(() => presence.status === 'live', { what: 'the presence room' });
    return { client, presence, doc: room.doc };
  }

  const names = (p: PresenceChannel): string[] => [...p.others().values()].map((s) => String(s.name)).sort();

  it('relays entries both ways, gives a newcomer everyone, and never shows a client its own', async () => {
    const docId = await createDocument(server);
    const a = await member(docId);
    const b = await member(docId);
    a.presence.set('a-field', state('Ada'));
    b.presence.set('b-field', state('Bob'));
    await waitFor(() => names(b.presence).join() === 'Ada' && names(a.presence).join() === 'Bob', { what: 'each to see the other' });
    const c = await member(docId);
    await waitFor(() => names(c.presence).join() === 'Ada,Bob', { what: 'the newcomer to see both' });
    expect(Object.keys(a.presence.mine())).toEqual(['a-field']);
    // A changes its entry: the others see the change, not a second entry.
    a.presence.set('a-field', state('Ada', { idle: true }));
    await waitFor(() => c.presence.others().get('a-field')?.idle === true, { what: 'the change' });
    expect(c.presence.others().size).toBe(2);
  });

  it('a departure is seen at once: socket closed, document left, entry deleted (long before any expiry)', async () => {
    const docId = await createDocument(server);
    const watcher = await member(docId); // default 60 s expiry: anything faster is the server's removal
    const closing = await member(docId);
    const leaving = await member(docId);
    const unbinding = await member(docId);
    closing.presence.set('closing', state('Closing'));
    leaving.presence.set('leaving', state('Leaving'));
    unbinding.presence.set('unbinding', state('Unbinding'));
    await waitFor(() => watcher.presence.others().size === 3, { what: 'all three' });

    const t0 = Date.now();
    closing.client.close(); // the socket closes: the server deletes what it wrote
    await waitFor(() => !watcher.presence.others().has('closing'), { what: 'the closed client to go' });
    leaving.client.leave(docId);
    await waitFor(() => !watcher.presence.others().has('leaving'), { what: 'the client that left to go' });
    unbinding.presence.delete('unbinding');
    await waitFor(() => watcher.presence.others().size === 0, { what: 'the deleted entry to go' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('rejoins after a reconnect on either side: entries come back, and what left meanwhile is gone', async () => {
    const docId = await createDocument(server);
    const a = await member(docId);
    const b = await member(docId);
    const c = await member(docId);
    a.presence.set('a', state('Ada'));
    c.presence.set('c', state('Cy'));
    await waitFor(() => names(b.presence).join() === 'Ada,Cy', { what: 'B to see A and C' });

    // A's socket drops: the server removes A's entry, A rejoins and says it again.
    a.client.reconnectNow();
    await waitFor(() => a.client.status === 'closed' || a.presence.status === 'joining', { what: 'A to notice' });
    await waitFor(() => a.presence.status === 'live' && names(b.presence).join() === 'Ada,Cy', { what: 'A back at B' });

    // B is away while C leaves: after B's rejoin C is not there, A is.
    b.client.reconnectNow();
    c.client.close();
    await waitFor(() => b.presence.status === 'live' && names(b.presence).join() === 'Ada', { what: 'B to see only A after its rejoin', timeoutMs: 15_000 });
  });

  it('drops an entry its owner stopped refreshing (EphemeralStore timeout)', async () => {
    const docId = await createDocument(server);
    const watcher = await member(docId, { timeoutMs: 1_000 });
    // A raw peer says something once and then stays connected in silence.
    const raw = await RawPeer.connect(server.wsUrl, server.token);
    await raw.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore });
    const store = new EphemeralStore(60_000);
    store.set('silent', state('Silent'));
    expect((await raw.ackFor(raw.update(docId, [store.encodeAll()], { crdt: CrdtType.LoroEphemeralStore }))).status).toBe(UpdateStatus.Ok);
    await waitFor(() => watcher.presence.others().has('silent'), { what: 'the entry to arrive' });
    const arrived = Date.now();
    await waitFor(() => !watcher.presence.others().has('silent'), { what: 'the entry to expire', timeoutMs: 5_000 });
    expect(Date.now() - arrived).toBeGreaterThanOrEqual(400); // expired, not removed at once
    raw.close();
    store.destroy();
  });

  it('throttles sends to about 20 a second, and the last state always goes out', async () => {
    const docId = await createDocument(server);
    const a = await member(docId);
    const b = await member(docId);
    const before = a.presence.sentBatches;
    const start = performance.now();
    // A caret moving every 2 ms for 400 ms.
    let i = 0;
    while (performance.now() - start < 400) {
      a.presence.set('a', { ...state('Ada'), step: i++ });
      await new Promise((resolve) => setTimeout(resolve, 2)); // pacing the workload, not waiting for a result
    }
    const last = i - 1;
    await waitFor(() => b.presence.others().get('a')?.step === last, { what: 'the last position to arrive' });
    const elapsed = performance.now() - start;
    const sent = a.presence.sentBatches - before;
    expect(i).toBeGreaterThan(50);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1);
  });

  it('viewers and share-link users take part; a stranger without access does not', async () => {
    const docId = await createDocument(server);
    const view = await createShareLink(server, docId, 'view');
    const owner = await member(docId);
    const viewer = await member(docId, { share: view.token, token: null });
    viewer.presence.set('viewer', state('Anonymous v1'));
    await waitFor(() => names(owner.presence).join() === 'Anonymous v1', { what: 'the viewer at the owner' });
    owner.presence.set('owner', state('Owner'));
    await waitFor(() => names(viewer.presence).join() === 'Owner', { what: 'the owner at the viewer' });

    const stranger = nodeSyncClient(server.wsUrl);
    clients.push(stranger);
    await stranger.open(docId);
    const p = stranger.presence(docId);
    await waitFor(() => p.status === 'failed', { what: 'the stranger to be refused' });
  });

  it("revoking a viewer's link evicts them from presence too: their entry goes, and they hear nobody", async () => {
    const docId = await createDocument(server);
    const view = await createShareLink(server, docId, 'view');
    const owner = await member(docId);
    const viewer = await member(docId, { share: view.token, token: null });
    viewer.presence.set('viewer', state('Viewer'));
    owner.presence.set('owner', state('Owner'));
    await waitFor(() => names(owner.presence).join() === 'Viewer' && names(viewer.presence).join() === 'Owner', { what: 'both to see each other' });
    const res = await fetch(`${server.httpUrl}/api/documents/${docId}/links/${view.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${server.token}` } });
    expect(res.status).toBe(204);
    await waitFor(() => viewer.presence.status === 'failed' && viewer.presence.others().size === 0, { what: 'the viewer evicted from presence' });
    await waitFor(() => owner.presence.others().size === 0, { what: "the viewer's entry to go at the owner" });
  });

  it('carets travel as Loro cursors: they follow concurrent edits made before them', async () => {
    const docId = await createDocument(server);
    const a = await member(docId);
    const b = await member(docId);
    const textA = a.doc.getText(TEXT);
    textA.insert(0, 'hello world');
    a.doc.commit();
    await waitFor(() => b.doc.getText(TEXT).toString() === 'hello world', { what: 'B to have the text' });
    // A selects "world"; at the same time B types before it.
    a.presence.set('a', peerStateValue({ user: 'u-a', name: 'Ada', ...encodeSelection(textA, 6, 11), idle: false }));
    b.doc.getText(TEXT).insert(0, 'Oh, ');
    b.doc.commit();
    await waitFor(() => b.presence.others().has('a'), { what: "A's selection at B" });
    const parsed = parsePeerState(b.presence.others().get('a'));
    expect(parsed).not.toBeNull();
    const atB = resolvePeer(b.doc, 'a', parsed!);
    expect([atB.anchor, atB.head]).toEqual([10, 15]);
    expect(b.doc.getText(TEXT).toString().slice(atB.anchor!, atB.head!)).toBe('world');
    // And at A, once B's insert arrives, the same cursor bytes resolve there too.
    await waitFor(() => textA.toString() === 'Oh, hello world', { what: "B's edit at A" });
    const atA = resolvePeer(a.doc, 'a', parsePeerState(a.presence.mine().a)!);
    expect([atA.anchor, atA.head]).toEqual([10, 15]);
    // Rejected: entries that are not presence states.
    expect(parsePeerState({ user: 1 })).toBeNull();
    expect(parsePeerState({ ...state('x'), anchor: 'not bytes' })).toBeNull();
  });
});

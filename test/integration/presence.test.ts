/**
 * Presence through the %EPH room with SyncClient's PresenceChannel, against the real server:
 * relay, newcomers, departures (close, leave, delete), rejoin after reconnect, expiry, the
 * send throttle, viewers, and Loro cursors that survive concurrent edits; and what the server
 * enforces: identity stamped from the socket's account, keys namespaced per socket, entry size,
 * entries per socket and rate bounded with named refusals.
 */
import { EphemeralStore, LoroDoc, type Value } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import type { PresenceChannel, SyncClient } from '../../shared/client/sync-client';
import { encodeJoinAuth, CrdtType, MessageType, PresenceRefusal, UpdateStatus, newBatchId, type BatchId } from '../../shared/protocol/index';
import { encodeSelection, parsePeerState, peerStateValue, resolvePeer, type OwnPeerState } from '../../shared/presence';
import { backends } from '../helpers/backends';
import { useTestServer } from '../helpers/server-fixture';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, createShareLink, signUp } from '../helpers/test-server';
import { TEXT } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

/** A caret-less entry, with something to tell versions apart. */
const state = (extra: Partial<OwnPeerState> & Record<string, Value> = {}): Record<string, Value> => ({
  ...peerStateValue({ anchor: null, head: null, idle: false }),
  ...extra,
});

/** The entries of one presence room, as a raw peer has heard them. */
function heard(peer: RawPeer, docId: string): EphemeralStore {
  const store = new EphemeralStore(60_000);
  for (const u of peer.updatesFor(docId, CrdtType.LoroEphemeralStore)) store.apply(u);
  return store;
}

describe.each(backends)('presence ($name)', (backend) => {
  const fixture = useTestServer(backend);

  interface Member {
    client: SyncClient;
    presence: PresenceChannel;
    doc: LoroDoc;
    /** The account's id and display name ('' for a share-link member). */
    user: string;
    name: string;
  }

  /** An account of its own, a member of `docId` with `role`. */
  async function account(docId: string, role: 'editor' | 'viewer' = 'editor'): Promise<{ token: string; user: string; name: string }> {
    const u = await signUp(fixture.server.httpUrl);
    const res = await fetch(`${fixture.server.httpUrl}/api/documents/${docId}/members`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${fixture.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: u.email, role }),
    });
    expect(res.status).toBe(200);
    return { token: u.token, ...(await me(u.token)) };
  }

  async function me(token: string): Promise<{ user: string; name: string }> {
    const { user } = (await (await fetch(`${fixture.server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { id: string; displayName: string } };
    return { user: user.id, name: user.displayName };
  }

  /** A member with an account of its own (each person one), the owner (`owner: true`), or a share-link holder without one (`share`). */
  async function member(docId: string, options: { timeoutMs?: number; share?: string; owner?: boolean } = {}): Promise<Member> {
    const who = options.share ? { token: null, user: '', name: '' } : options.owner ? { token: fixture.server.token, ...(await me(fixture.server.token)) } : await account(docId);
    const client = fixture.client({ token: who.token });
    const room = await client.open(docId, new LoroDoc(), undefined, options.share ? encodeJoinAuth({ share: options.share }) : new Uint8Array(0));
    await room.whenSynced();
    const presence = client.presence(docId, { timeoutMs: options.timeoutMs });
    await waitFor(() => presence.status === 'live', { what: 'the presence room' });
    return { client, presence, doc: room.doc, user: who.user, name: who.name };
  }

  const names = (p: PresenceChannel): string[] => [...p.others().values()].map((s) => String(s.name)).sort();
  /** Another socket's entry by the key it used (the server puts it under that socket's namespace). */
  const entry = (p: PresenceChannel, key: string): Record<string, Value> | undefined => {
    for (const [k, v] of p.others()) if (k === key || k.endsWith(`/${key}`)) return v;
    return undefined;
  };
  const sorted = (...xs: string[]): string => xs.sort().join();

  it('relays entries both ways, gives a newcomer everyone, and never shows a client its own', async () => {
    const docId = await createDocument(fixture.server);
    const a = await member(docId);
    const b = await member(docId);
    a.presence.set('a-field', state());
    b.presence.set('b-field', state());
    await waitFor(() => names(b.presence).join() === a.name && names(a.presence).join() === b.name, { what: 'each to see the other' });
    const c = await member(docId);
    await waitFor(() => names(c.presence).join() === sorted(a.name, b.name), { what: 'the newcomer to see both' });
    expect(Object.keys(a.presence.mine())).toEqual(['a-field']);
    // A changes its entry: the others see the change, not a second entry.
    a.presence.set('a-field', state({ idle: true }));
    await waitFor(() => entry(c.presence, 'a-field')?.idle === true, { what: 'the change' });
    expect(c.presence.others().size).toBe(2);
    expect(entry(c.presence, 'a-field')).toMatchObject({ user: a.user, name: a.name });
  });

  it('a departure is seen at once: socket closed, document left, entry deleted (long before any expiry)', async () => {
    const docId = await createDocument(fixture.server);
    const watcher = await member(docId); // default 60 s expiry: anything faster is the server's removal
    const closing = await member(docId);
    const leaving = await member(docId);
    const unbinding = await member(docId);
    closing.presence.set('closing', state());
    leaving.presence.set('leaving', state());
    unbinding.presence.set('unbinding', state());
    await waitFor(() => watcher.presence.others().size === 3, { what: 'all three' });

    const t0 = Date.now();
    closing.client.close(); // the socket closes: the server deletes what it wrote
    await waitFor(() => !entry(watcher.presence, 'closing'), { what: 'the closed client to go' });
    leaving.client.leave(docId);
    await waitFor(() => !entry(watcher.presence, 'leaving'), { what: 'the client that left to go' });
    unbinding.presence.delete('unbinding');
    await waitFor(() => watcher.presence.others().size === 0, { what: 'the deleted entry to go' });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('rejoins after a reconnect on either side: entries come back, and what left meanwhile is gone', async () => {
    const docId = await createDocument(fixture.server);
    const a = await member(docId);
    const b = await member(docId);
    const c = await member(docId);
    a.presence.set('a', state());
    c.presence.set('c', state());
    await waitFor(() => names(b.presence).join() === sorted(a.name, c.name), { what: 'B to see A and C' });

    // A's socket drops: the server removes A's entry, A rejoins and says it again.
    a.client.reconnectNow();
    await waitFor(() => a.client.status === 'closed' || a.presence.status === 'joining', { what: 'A to notice' });
    await waitFor(() => a.presence.status === 'live' && names(b.presence).join() === sorted(a.name, c.name), { what: 'A back at B' });

    // B is away while C leaves: after B's rejoin C is not there, A is.
    b.client.reconnectNow();
    c.client.close();
    await waitFor(() => b.presence.status === 'live' && names(b.presence).join() === a.name, { what: 'B to see only A after its rejoin', timeoutMs: 15_000 });
  });

  it('drops an entry its owner stopped refreshing (EphemeralStore timeout)', async () => {
    const docId = await createDocument(fixture.server);
    const watcher = await member(docId, { timeoutMs: 1_000 });
    // A raw peer says something once and then stays connected in silence.
    const raw = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await raw.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore });
    const store = new EphemeralStore(60_000);
    store.set('silent', state());
    expect((await raw.ackFor(raw.update(docId, [store.encodeAll()], { crdt: CrdtType.LoroEphemeralStore }))).status).toBe(UpdateStatus.Ok);
    await waitFor(() => entry(watcher.presence, 'silent'), { what: 'the entry to arrive' });
    const arrived = Date.now();
    await waitFor(() => !entry(watcher.presence, 'silent'), { what: 'the entry to expire', timeoutMs: 5_000 });
    expect(Date.now() - arrived).toBeGreaterThanOrEqual(400); // expired, not removed at once
    raw.close();
    store.destroy();
  });

  it('throttles sends to about 20 a second, and the last state always goes out', async () => {
    const docId = await createDocument(fixture.server);
    const a = await member(docId);
    const b = await member(docId);
    const before = a.presence.sentBatches;
    const start = performance.now();
    // A caret moving every 2 ms for 400 ms.
    let i = 0;
    while (performance.now() - start < 400) {
      a.presence.set('a', state({ step: i++ }));
      await new Promise((resolve) => setTimeout(resolve, 2)); // pacing the workload, not waiting for a result
    }
    const last = i - 1;
    await waitFor(() => entry(b.presence, 'a')?.step === last, { what: 'the last position to arrive' });
    const elapsed = performance.now() - start;
    const sent = a.presence.sentBatches - before;
    expect(i).toBeGreaterThan(50);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1);
  });

  it('viewers and share-link users take part, as "Anonymous"; a stranger without access does not', async () => {
    const docId = await createDocument(fixture.server);
    const view = await createShareLink(fixture.server, docId, 'view');
    const owner = await member(docId, { owner: true });
    const viewer = await member(docId, { share: view.token });
    viewer.presence.set('viewer', state());
    await waitFor(() => /^Anonymous \S+$/.test(names(owner.presence).join()), { what: 'the viewer at the owner' });
    expect(String(entry(owner.presence, 'viewer')?.user)).toMatch(/^anon:/);
    owner.presence.set('owner', state());
    await waitFor(() => names(viewer.presence).join() === owner.name, { what: 'the owner at the viewer' });

    const stranger = fixture.client({ token: null });
    await stranger.open(docId);
    const p = stranger.presence(docId);
    await waitFor(() => p.status === 'failed', { what: 'the stranger to be refused' });
  });

  it("revoking a viewer's link evicts them from presence too: their entry goes, and they hear nobody", async () => {
    const docId = await createDocument(fixture.server);
    const view = await createShareLink(fixture.server, docId, 'view');
    const owner = await member(docId, { owner: true });
    const viewer = await member(docId, { share: view.token });
    viewer.presence.set('viewer', state());
    owner.presence.set('owner', state());
    await waitFor(() => entry(owner.presence, 'viewer') && names(viewer.presence).join() === owner.name, { what: 'both to see each other' });
    const res = await fetch(`${fixture.server.httpUrl}/api/documents/${docId}/links/${view.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${fixture.server.token}` } });
    expect(res.status).toBe(204);
    await waitFor(() => viewer.presence.status === 'failed' && viewer.presence.others().size === 0, { what: 'the viewer evicted from presence' });
    await waitFor(() => owner.presence.others().size === 0, { what: "the viewer's entry to go at the owner" });
  });

  it('carets travel as Loro cursors: they follow concurrent edits made before them', async () => {
    const docId = await createDocument(fixture.server);
    const a = await member(docId);
    const b = await member(docId);
    const textA = a.doc.getText(TEXT);
    textA.insert(0, 'hello world');
    a.doc.commit();
    await waitFor(() => b.doc.getText(TEXT).toString() === 'hello world', { what: 'B to have the text' });
    // A selects "world"; at the same time B types before it.
    a.presence.set('a', peerStateValue({ ...encodeSelection(textA, 6, 11), idle: false }));
    b.doc.getText(TEXT).insert(0, 'Oh, ');
    b.doc.commit();
    await waitFor(() => entry(b.presence, 'a'), { what: "A's selection at B" });
    const parsed = parsePeerState(entry(b.presence, 'a'));
    expect(parsed).toMatchObject({ user: a.user, name: a.name });
    const atB = resolvePeer(b.doc, 'a', parsed!);
    expect([atB.anchor, atB.head]).toEqual([10, 15]);
    expect(b.doc.getText(TEXT).toString().slice(atB.anchor!, atB.head!)).toBe('world');
    // And at A, once B's insert arrives, the same cursor bytes resolve there too.
    await waitFor(() => textA.toString() === 'Oh, hello world', { what: "B's edit at A" });
    const atA = resolvePeer(a.doc, 'a', parsePeerState({ ...a.presence.mine().a, user: a.user, name: a.name })!);
    expect([atA.anchor, atA.head]).toEqual([10, 15]);
    // Rejected: entries that are not presence states.
    expect(parsePeerState({ user: 1 })).toBeNull();
    expect(parsePeerState({ ...state(), user: 'u', name: 'n', anchor: 'not bytes' })).toBeNull();
  });

  describe('what the server enforces', () => {
    /** A share-link socket without an account, in the presence room, speaking raw protocol. */
    async function anonymousPeer(docId: string): Promise<RawPeer> {
      const view = await createShareLink(fixture.server, docId, 'view');
      const peer = await RawPeer.connect(fixture.server.wsUrl);
      expect(await peer.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore, share: view.token })).toMatchObject({ type: MessageType.JoinResponseOk, permission: 'read' });
      fixture.afterTest(() => peer.close());
      return peer;
    }
    const publish = async (peer: RawPeer, docId: string, ...updates: Uint8Array[]): Promise<UpdateStatus> =>
      (await peer.ackFor(peer.update(docId, updates, { crdt: CrdtType.LoroEphemeralStore }))).status;

    it("a view-link socket cannot claim the owner's identity: the server stamps it Anonymous, whatever it says", async () => {
      const docId = await createDocument(fixture.server);
      const owner = await member(docId, { owner: true });
      const watcher = await member(docId);
      const attacker = await anonymousPeer(docId);
      const forged = new EphemeralStore(60_000);
      forged.set('owner-field', state({ user: owner.user, name: owner.name }));
      forged.set('plain', 'just a string'); // not a map: kept under `value`, stamped all the same
      expect(await publish(attacker, docId, forged.encodeAll())).toBe(UpdateStatus.Ok);
      await waitFor(() => watcher.presence.others().size === 2, { what: "the attacker's entries at the watcher" });
      const claimed = entry(watcher.presence, 'owner-field')!;
      expect(claimed.user).toMatch(/^anon:/);
      expect(claimed.name).toMatch(/^Anonymous /);
      expect(parsePeerState(claimed)).toMatchObject({ user: claimed.user, name: claimed.name });
      expect(entry(watcher.presence, 'plain')).toEqual({ value: 'just a string', user: claimed.user, name: claimed.name });
      for (const value of watcher.presence.others().values()) expect([value.user, value.name]).not.toContain(owner.user);
      expect(names(watcher.presence)).not.toContain(owner.name);
      forged.destroy();
    });

    it("a socket cannot overwrite or delete another socket's entry, by its key or by the key it was relayed under", async () => {
      const docId = await createDocument(fixture.server);
      const owner = await member(docId, { owner: true });
      const watcher = await member(docId);
      owner.presence.set('owner-field', state({ mark: 'original' }));
      await waitFor(() => entry(watcher.presence, 'owner-field'), { what: "the owner's entry at the watcher" });
      const attacker = await anonymousPeer(docId);
      // It heard the owner's entry on joining, under the owner's namespaced key.
      const relayedKey = await attacker.until(
        () =>
          heard(attacker, docId)
            .keys()
            .find((k) => k === 'owner-field' || k.endsWith('/owner-field')),
        { what: 'the state on join' },
      );
      const forged = new EphemeralStore(60_000);
      for (const key of ['owner-field', relayedKey]) forged.set(key, state({ mark: 'forged' }));
      expect(await publish(attacker, docId, forged.encodeAll())).toBe(UpdateStatus.Ok);
      await waitFor(() => watcher.presence.others().size === 3, { what: "the attacker's two entries, beside the owner's" });
      for (const key of ['owner-field', relayedKey]) forged.delete(key);
      expect(await publish(attacker, docId, forged.encodeAll())).toBe(UpdateStatus.Ok);
      await waitFor(() => watcher.presence.others().size === 1, { what: "the attacker's entries to go" });
      const [key, kept] = [...watcher.presence.others()][0]!;
      expect(key).toBe(relayedKey);
      expect(kept).toMatchObject({ mark: 'original', user: owner.user, name: owner.name });
      forged.destroy();
    });

    it('an oversize entry, too many entries and a fragmented batch are refused by name; nothing of them is relayed', async () => {
      const docId = await createDocument(fixture.server);
      const watcher = await member(docId);
      const other = await member(docId);
      const attacker = await anonymousPeer(docId);
      const store = new EphemeralStore(60_000);
      store.set('big', state({ blob: new Uint8Array(5_000) }));
      expect(await publish(attacker, docId, store.encode('big'))).toBe(UpdateStatus.PayloadTooLarge);
      const many = new EphemeralStore(60_000);
      for (let i = 0; i < 33; i++) many.set(`k${i}`, state());
      expect(await publish(attacker, docId, many.encodeAll())).toBe(UpdateStatus.PayloadTooLarge);
      const batchId = newBatchId();
      attacker.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.LoroEphemeralStore, roomId: docId, batchId, fragmentCount: 2, totalSizeBytes: 300_000 });
      expect((await attacker.ackFor(batchId)).status).toBe(UpdateStatus.PayloadTooLarge);
      expect(await publish(attacker, docId, new Uint8Array([9, 9, 9]))).toBe(UpdateStatus.InvalidUpdate);
      expect(fixture.server.server.metrics.snapshot().limitHits).toMatchObject({
        [PresenceRefusal.TooLarge]: 2,
        [PresenceRefusal.TooManyEntries]: 1,
        [PresenceRefusal.Malformed]: 1,
      });
      // The socket stays, and so does everyone else's presence.
      const small = new EphemeralStore(60_000);
      small.set('small', state());
      expect(await publish(attacker, docId, small.encodeAll())).toBe(UpdateStatus.Ok);
      other.presence.set('other', state());
      await waitFor(() => entry(watcher.presence, 'other') && entry(watcher.presence, 'small'), { what: 'the small entry and the other member' });
      expect(entry(watcher.presence, 'big')).toBeUndefined();
      expect(entry(watcher.presence, 'k0')).toBeUndefined();
      for (const s of [store, many, small]) s.destroy();
    });

    it('a flood is refused as rate_limited while another member still gets every update', async () => {
      const docId = await createDocument(fixture.server);
      const watcher = await member(docId);
      const other = await member(docId);
      const attacker = await anonymousPeer(docId);
      const store = new EphemeralStore(60_000);
      const started = performance.now();
      const batches: BatchId[] = [];
      for (let i = 0; i < 400; i++) {
        store.set('flood', state({ step: i, pad: 'x'.repeat(3_000) }));
        batches.push(attacker.update(docId, [store.encode('flood')], { crdt: CrdtType.LoroEphemeralStore }));
      }
      const statuses = await Promise.all(batches.map((b) => attacker.ackFor(b).then((a) => a.status)));
      const elapsed = (performance.now() - started) / 1000;
      const accepted = statuses.filter((s) => s === UpdateStatus.Ok).length;
      expect(statuses.filter((s) => s === UpdateStatus.RateLimited).length).toBe(400 - accepted);
      // The default budget: a burst of 80 entries, then 40 a second.
      expect(accepted).toBeLessThanOrEqual(80 + Math.ceil(40 * elapsed));
      expect(fixture.server.server.metrics.snapshot().limitHits[PresenceRefusal.RateLimited]).toBe(400 - accepted);
      // Another member is served meanwhile and after: its every change arrives.
      for (let step = 0; step < 3; step++) {
        other.presence.set('other', state({ step }));
        await waitFor(() => entry(watcher.presence, 'other')?.step === step, { what: `the other member's change ${step}` });
      }
      store.destroy();
    });
  });
});

/**
 * Several nodes on one database: an edit on one node reaches sockets on the others through
 * the bus and the ordered log; a lost doorbell is repaired by the head check; presence and
 * revocations cross nodes. The same suite runs on the Postgres NOTIFY bus and on Redis.
 */
import { sql } from 'kysely';
import { LoroDoc } from 'loro-crdt';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/open-database';
import { BaseBus, type Bus, type BusMessage } from '../../server/cluster/bus';
import { PostgresBus } from '../../server/cluster/postgres-bus';
import { RedisBus } from '../../server/cluster/redis-bus';
import { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../server/logger';
import { randomSecret } from '../../server/auth/secrets';
import { CloseCode, CrdtType, MessageType, RoomErrorCode, UpdateStatus, type RoomError } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { postgresBackend, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { storedDoc } from '../helpers/stored';
import { createDocument, signUp, startTestServer, testLogLevel, type RunningServer } from '../helpers/test-server';
import { TcpProxy } from '../helpers/tcp-proxy';
import { appendEdit, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

const redisUrl = process.env.TANDEM_TEST_REDIS_URL;
if (process.env.CI && !redisUrl) throw new Error('CI is set but TANDEM_TEST_REDIS_URL is not: the Redis bus suite must run in CI');

/** A bus that can be told to lose doorbells, to show the head check repairs them. */
class LossyBus extends BaseBus {
  dropDoorbells = false;
  override readonly relaysEdits: boolean;
  override readonly maxMessageBytes: number;
  constructor(private readonly inner: Bus) {
    super(inner.nodeId);
    this.relaysEdits = inner.relaysEdits;
    this.maxMessageBytes = inner.maxMessageBytes;
    inner.onMessage((m) => {
      if (m.type === 'doorbell' && this.dropDoorbells) return;
      this.deliver(JSON.stringify({ ...m, node: `relayed-${m.node}` }));
    });
    inner.onReconnect(() => this.reconnected());
  }
  publish(message: BusMessage): void {
    this.inner.publish(message);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

type BusKind = 'postgres' | 'redis';
const buses: BusKind[] = postgresBackend ? ['postgres', ...(redisUrl ? (['redis'] as const) : [])] : [];

/** The text a socket has been sent of a document. */
function textSeenBy(peer: RawPeer, docId: string): string {
  const seen = new LoroDoc();
  seen.importBatch(peer.updatesFor(docId));
  return textOf(seen);
}

describe.skipIf(buses.length === 0).each(buses)('cluster over the %s bus', (kind) => {
  let db: TestDatabase;
  const handles: DatabaseHandle[] = [];
  const nodes: RunningServer[] = [];
  const busesOf: LossyBus[] = [];
  /** The first node's way to the database, when a test asked for one it can cut. */
  let firstNodesDatabase: TcpProxy | null = null;
  /** What the nodes' buses logged at warn and above: [node index, event, fields]. */
  const busLog: [number, string, Record<string, unknown> | undefined][] = [];

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
    for (const h of handles.splice(0)) await h.close();
    busesOf.length = 0;
    busLog.length = 0;
    await firstNodesDatabase?.close();
    firstNodesDatabase = null;
    await db.drop();
  });

  /** `count` nodes, each with its own pool and bus, on one database; `cuttable`: the first reaches it through a proxy. */
  async function startNodes(count: number, { cuttable = false } = {}): Promise<RunningServer[]> {
    db = await postgresBackend!.create();
    const url = (db.reopen as { url: string }).url;
    let token: string | undefined;
    for (let i = 0; i < count; i++) {
      let nodeUrl = url;
      if (cuttable && i === 0) {
        const target = new URL(url);
        firstNodesDatabase = await TcpProxy.start(target.hostname, Number(target.port || 5432));
        target.host = `127.0.0.1:${firstNodesDatabase.port}`;
        nodeUrl = target.toString();
      }
      const handle = await openDatabase({ kind: 'postgres', url: nodeUrl });
      handles.push(handle);
      const nodeId = randomSecret(8);
      const printed = createLogger(testLogLevel);
      const index = i;
      const log: Logger = {
        ...printed,
        warn: (event, fields) => (busLog.push([index, event, fields]), printed.warn(event, fields)),
        error: (event, fields) => (busLog.push([index, event, fields]), printed.error(event, fields)),
      };
      const inner = kind === 'postgres' ? new PostgresBus(nodeId, { url, db: handle.db, log }) : new RedisBus(nodeId, { url: redisUrl!, log });
      await inner.start();
      const bus = new LossyBus(inner);
      busesOf.push(bus);
      const node = await startTestServer({ ...db, handle }, { roomGraceMs: 60_000 }, undefined, token, {}, { bus, cluster: { headCheckMs: 300 }, shutdownTimeoutMs: 500 });
      token ??= node.token;
      nodes.push(node);
    }
    return nodes;
  }

  /** Two nodes, a document, a writer on the first and a reader on the second, both joined. */
  async function writerAndReader(options: { cuttable?: boolean } = {}) {
    const [a, b] = await startNodes(2, options);
    const docId = await createDocument(a!);
    const writer = await RawPeer.connect(a!.wsUrl, a!.token);
    const reader = await RawPeer.connect(b!.wsUrl, b!.token);
    await writer.joinAndWait(docId);
    await reader.joinAndWait(docId);
    return { a: a!, b: b!, docId, writer, reader };
  }

  it('an edit on one node reaches sockets on the others, once, from the log', async () => {
    const [a, b, c] = await startNodes(3);
    const docId = await createDocument(a!);
    const peers = await Promise.all([a, b, c].map((n) => RawPeer.connect(n!.wsUrl, n!.token)));
    for (const p of peers) expect((await p.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    const doc = new LoroDoc();
    const sent = peers.map(() => [] as Uint8Array[]);
    for (let i = 0; i < 20; i++) {
      const update = appendEdit(doc, `${i} `);
      sent[i % 3]!.push(update);
      expect((await peers[i % 3]!.ackFor(peers[i % 3]!.update(docId, [update]))).status).toBe(UpdateStatus.Ok);
    }
    const expected = textOf(doc);
    for (const [i, p] of peers.entries()) {
      // What a socket sees is what it sent plus what the server relayed to it.
      await p.until(
        () => {
          const seen = new LoroDoc();
          seen.importBatch([...sent[i]!, ...p.updatesFor(docId)]);
          return textOf(seen) === expected;
        },
        { what: 'every edit on every node' },
      );
    }
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe(expected);
    for (const p of peers) p.close();
  });

  // Only the Redis bus carries edits ahead of their commit (Bus.relaysEdits).
  if (kind === 'redis') {
    it('an edit reaches sockets on other nodes before its COMMIT, once; the committed entry reaches a socket that joined in between', async () => {
      const { b, docId, writer, reader } = await writerAndReader();
      // Hold the document's row: node A's commit waits behind this transaction.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = db.handle.db.transaction().execute(async (trx) => {
        await sql`select id from documents where id = ${docId} for update`.execute(trx);
        locked();
        await released;
      });
      try {
        await isLocked;
        const doc = new LoroDoc();
        const batch = writer.update(docId, [appendEdit(doc, 'ahead of its commit')]);
        await reader.until(() => textSeenBy(reader, docId) === 'ahead of its commit', { what: 'the edit on node B before its commit' });
        expect(writer.acks.has(batch)).toBe(false); // not stored yet: node A's commit is still waiting
        // Joining node B now: the answer comes from what B has stored, which lacks the edit.
        const late = await RawPeer.connect(b.wsUrl, b.token);
        await late.joinAndWait(docId);
        release();
        await holder;
        expect((await writer.ackFor(batch)).status).toBe(UpdateStatus.Ok);
        // The committed entry crosses with its doorbell: node B gives it to the late joiner only.
        await late.until(() => textSeenBy(late, docId) === 'ahead of its commit', { what: 'the committed entry for the late joiner' });
        // A second edit behind it on the same sockets: the first reader sees it, and no copy of the first.
        expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, ', then one more')]))).status).toBe(UpdateStatus.Ok);
        await reader.until(() => textSeenBy(reader, docId) === 'ahead of its commit, then one more', { what: 'the second edit' });
        expect(reader.updatesFor(docId)).toHaveLength(2);
        late.close();
      } finally {
        release();
        await holder.catch(() => {});
      }
      expect(textOf(await storedDoc(db.handle.db, docId))).toBe('ahead of its commit, then one more');
      writer.close();
      reader.close();
    });

    it('an edit ahead of its commit reaches the sockets of a node that lacks what it builds on, and so do its joiners (found by the seeded fuzz)', async () => {
      const [a, b] = await startNodes(2, { cuttable: true });
      const docId = await createDocument(a!);
      const writer = await RawPeer.connect(a!.wsUrl, a!.token);
      await writer.joinAndWait(docId);
      const doc = new LoroDoc();
      expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, 'zero ')]))).status).toBe(UpdateStatus.Ok);
      const versionBefore = doc.oplogVersion().encode();
      // Node B holds the document loaded, with nobody in it (a socket came and went).
      const passer = await RawPeer.connect(b!.wsUrl, b!.token);
      await passer.joinAndWait(docId);
      passer.close();
      await waitFor(() => b!.server.metrics.snapshot().connections === 0, { what: 'the socket to leave node B' });
      // A witness: another document, open on both nodes. Node A's bus messages reach B in the
      // order sent, so once the witness on B sees an edit sent after the first, B has had the
      // first too (without this the reader could join B before it arrived, and get it).
      const witnessDocId = await createDocument(a!);
      await writer.joinAndWait(witnessDocId);
      const witness = await RawPeer.connect(b!.wsUrl, b!.token);
      await witness.joinAndWait(witnessDocId);
      // Node A cannot store: the first edit crosses ahead of its commit to B, which has nobody to give it to and skips it.
      firstNodesDatabase!.cut();
      const first = writer.update(docId, [appendEdit(doc, 'first')]);
      const witnessed = writer.update(witnessDocId, [appendEdit(new LoroDoc(), 'sent after the first')]);
      await witness.until(() => textSeenBy(witness, witnessDocId) === 'sent after the first', { what: 'the witness edit on node B' });
      const reader = await RawPeer.connect(b!.wsUrl, b!.token);
      await reader.joinAndWait(docId);
      // The second edit builds on the first, which B lacks: it waits there for its dependency, and goes to the reader all the same.
      const secondUpdate = appendEdit(doc, ', second');
      const second = writer.update(docId, [secondUpdate]);
      const sameBytes = (u: Uint8Array): boolean => Buffer.from(u).equals(Buffer.from(secondUpdate));
      await reader.until(() => reader.updatesFor(docId).some(sameBytes), { what: 'the second edit on node B ahead of its commit' });
      // A socket that joins B now, holding what B holds: the export of B's document leaves out what waits there; it is sent as it is.
      const joiner = await RawPeer.connect(b!.wsUrl, b!.token);
      await joiner.joinAndWait(docId, { version: versionBefore });
      await joiner.until(() => joiner.updatesFor(docId).some(sameBytes), { what: 'the waiting edit in the join answer' });
      firstNodesDatabase!.restore();
      for (const batch of [first, second, witnessed]) expect((await writer.ackFor(batch)).status).toBe(UpdateStatus.Ok);
      await reader.until(() => textSeenBy(reader, docId) === 'zero first, second', { what: 'both edits on node B' });
      expect(textOf(await storedDoc(db.handle.db, docId))).toBe('zero first, second');
      for (const p of [writer, reader, joiner, witness]) p.close();
    });

    it('an edit sent ahead by a node that dies is stored when its author resends it merged with newer edits, in a commit of several updates (found by the seeded fuzz)', async () => {
      const { a, b, docId, writer, reader } = await writerAndReader({ cuttable: true });
      firstNodesDatabase!.cut();
      const doc = new LoroDoc();
      const before = doc.oplogVersion();
      const ahead = writer.update(docId, [appendEdit(doc, 'ahead')]);
      await reader.until(() => textSeenBy(reader, docId) === 'ahead', { what: 'the edit on node B ahead of its commit' });
      await a.close(); // gone with the edit unstored
      expect(writer.acks.has(ahead)).toBe(false);
      // The author's client merges its backlog: the lost edit and a newer one as one update, sent with another in one batch (one commit of two updates).
      appendEdit(doc, ' and newer');
      const merged = doc.export({ mode: 'update', from: before });
      const again = await RawPeer.connect(b.wsUrl, b.token);
      await again.joinAndWait(docId);
      expect((await again.ackFor(again.update(docId, [merged, appendEdit(doc, ', last')]))).status).toBe(UpdateStatus.Ok);
      expect(textOf(await storedDoc(db.handle.db, docId))).toBe('ahead and newer, last');
      for (const p of [writer, reader, again]) p.close();
    });

    it('an edit sent ahead by a node that dies before storing it is stored when its author sends it again to another node', async () => {
      const { a, b, docId, writer, reader } = await writerAndReader({ cuttable: true });
      firstNodesDatabase!.cut();
      const update = appendEdit(new LoroDoc(), 'in memory only');
      const batch = writer.update(docId, [update]);
      await reader.until(() => textSeenBy(reader, docId) === 'in memory only', { what: 'the edit on node B ahead of its commit' });
      await a.close(); // node A goes away with the edit unstored (its database unreachable)
      expect(writer.acks.has(batch)).toBe(false);
      // Node B has the edit in memory and nowhere else: the author's resend must be stored, not taken for a duplicate.
      const again = await RawPeer.connect(b.wsUrl, b.token);
      await again.joinAndWait(docId);
      expect((await again.ackFor(again.update(docId, [update]))).status).toBe(UpdateStatus.Ok);
      expect(textOf(await storedDoc(db.handle.db, docId))).toBe('in memory only');
      for (const p of [writer, reader, again]) p.close();
    });
  }

  // One retry: in 1 of 3 full runs (2026-12-05, Postgres bus) the reader never got the edits
  // within 10 s; it passed 11 of 11 runs alone and with the whole file, loaded or not. The
  // likely cause, fixed since (test/unit/other-nodes.test.ts): a doorbell's entry that arrived
  // while a catch-up was reading the cut database was left to that catch-up, which could not
  // read it. The retry stays until full runs have shown it gone; a retry that fails again is a
  // real failure.
  it('small committed entries ride along with their doorbell: a node that cannot read the log still applies them', { retry: 1 }, async () => {
    const [a, b] = await startNodes(2, { cuttable: true });
    const docId = await createDocument(a!);
    const reader = await RawPeer.connect(a!.wsUrl, a!.token);
    const writer = await RawPeer.connect(b!.wsUrl, b!.token);
    await reader.joinAndWait(docId);
    await writer.joinAndWait(docId);
    // The reader's node loses its database (the bus stays): its head check and any read of the log fail.
    firstNodesDatabase!.cut();
    const before = a!.server.metrics.snapshot().otherNodes;
    const doc = new LoroDoc();
    for (let i = 0; i < 5; i++) expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, `${i} `)]))).status).toBe(UpdateStatus.Ok);
    await reader.until(() => textSeenBy(reader, docId) === '0 1 2 3 4 ', { what: 'the other node’s edits' });
    // On Redis the edits also crossed ahead of their commits; the commits themselves came with the doorbells.
    await waitFor(() => a!.server.metrics.snapshot().otherNodes.entriesFromDoorbells - before.entriesFromDoorbells === 5, { what: 'five entries from doorbells' });
    expect(a!.server.metrics.snapshot().otherNodes.logReads).toBe(before.logReads);
    writer.close();
    reader.close();
  });

  it('a lost doorbell is repaired by the periodic head check', async () => {
    const { docId, writer, reader } = await writerAndReader();
    busesOf[1]!.dropDoorbells = true;
    const doc = new LoroDoc();
    const started = performance.now();
    expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, 'no doorbell')]))).status).toBe(UpdateStatus.Ok);
    await reader.until(() => textSeenBy(reader, docId) === 'no doorbell', { what: 'the edit without its doorbell', timeoutMs: 3_000 });
    // Within one check period (300 ms here), plus the read.
    expect(performance.now() - started).toBeLessThan(1_500);
    writer.close();
    reader.close();
  });

  it('writers on two nodes interleave without gaps; each node applies the other’s entries', async () => {
    const [a, b] = await startNodes(2);
    const docId = await createDocument(a!);
    const pa = await RawPeer.connect(a!.wsUrl, a!.token);
    const pb = await RawPeer.connect(b!.wsUrl, b!.token);
    await pa.joinAndWait(docId);
    await pb.joinAndWait(docId);
    const da = new LoroDoc();
    const dbDoc = new LoroDoc();
    const batches = [];
    for (let i = 0; i < 100; i++) {
      batches.push({ peer: pa, id: pa.update(docId, [appendEdit(da, 'a')]) });
      batches.push({ peer: pb, id: pb.update(docId, [appendEdit(dbDoc, 'b')]) });
    }
    for (const { peer, id } of batches) expect((await peer.ackFor(id)).status).toBe(UpdateStatus.Ok);
    const stored = textOf(await storedDoc(db.handle.db, docId));
    expect(stored.length).toBe(200);
    for (const p of [pa, pb]) {
      await p.until(
        () => {
          const seen = new LoroDoc();
          seen.import(p === pa ? da.export({ mode: 'update' }) : dbDoc.export({ mode: 'update' }));
          seen.importBatch(p.updatesFor(docId));
          return textOf(seen) === stored;
        },
        { what: 'both writers’ edits on both nodes' },
      );
    }
    pa.close();
    pb.close();
  });

  it('presence crosses nodes, and so does a departure (the socket closes on one node, the entry goes on the other)', async () => {
    const [a, b] = await startNodes(2);
    const docId = await createDocument(a!);
    const pa = await RawPeer.connect(a!.wsUrl, a!.token);
    const pb = await RawPeer.connect(b!.wsUrl, b!.token);
    await pa.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore });
    await pb.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore });
    const { EphemeralStore } = await import('loro-crdt');
    const store = new EphemeralStore(30_000);
    store.set('ada', { cursor: 7 });
    pa.update(docId, [store.encodeAll()], { crdt: CrdtType.LoroEphemeralStore });
    const seen = new EphemeralStore(30_000);
    let applied = 0;
    await pb.until(
      () => {
        for (const u of pb.updatesFor(docId, CrdtType.LoroEphemeralStore).slice(applied)) seen.apply(u);
        applied = pb.updatesFor(docId, CrdtType.LoroEphemeralStore).length;
        return seen.keys().find((k) => k.endsWith('/ada'));
      },
      { what: 'presence from the other node' },
    );
    const adaKey = seen.keys().find((k) => k.endsWith('/ada'))!;
    expect(seen.get(adaKey)).toMatchObject({ cursor: 7, user: expect.any(String) });
    pa.close();
    await pb.until(
      () => {
        for (const u of pb.updatesFor(docId, CrdtType.LoroEphemeralStore).slice(applied)) seen.apply(u);
        applied = pb.updatesFor(docId, CrdtType.LoroEphemeralStore).length;
        return seen.get(adaKey) === undefined;
      },
      { what: 'the departure from the other node (long before the 30 s expiry)' },
    );
    store.destroy();
    seen.destroy();
    pb.close();
  });

  it('a malformed bus message is logged as bus.message_invalid and dropped; the nodes go on serving', async () => {
    const { docId, writer, reader } = await writerAndReader();
    const payloads = [
      'not json',
      JSON.stringify({ type: 'doorbell', node: 'other', heads: 'nope' }),
      JSON.stringify({ type: 'doorbell', node: 'other', heads: [[docId, -1]] }),
      JSON.stringify({ type: 'edits', node: 'other', docs: [[docId, ['%%% not base64']]] }),
      JSON.stringify({ type: 'access', node: 'other', event: { type: 'everyone_revoked' } }),
      JSON.stringify({ type: 'from_a_newer_version', node: 'other' }),
    ];
    // Straight onto the bus, as another node (of another version) would send them.
    if (kind === 'postgres') for (const p of payloads) await sql`select pg_notify('tandem', ${p})`.execute(db.handle.db);
    else {
      const redis = new Redis(redisUrl!);
      for (const p of payloads) await redis.publish('tandem', p);
      redis.disconnect();
    }
    const invalid = (node: number) => busLog.filter(([n, event]) => n === node && event === 'bus.message_invalid');
    await waitFor(() => invalid(0).length === payloads.length && invalid(1).length === payloads.length, { what: 'every malformed message logged on both nodes' });
    expect(invalid(1).map(([, , fields]) => fields?.reason)).toEqual([
      'not JSON',
      'heads: Invalid input: expected array, received string',
      'heads.0.1: Too small: expected number to be >=0',
      expect.stringMatching(/^docs\.0\.1\.0: /),
      expect.stringMatching(/^event\.type: /),
      expect.stringMatching(/^type: /),
    ]);
    expect(busLog.filter(([, event]) => event === 'bus.listener_failed')).toEqual([]);

    // An edit still crosses from node A to node B.
    const doc = new LoroDoc();
    expect((await writer.ackFor(writer.update(docId, [appendEdit(doc, 'still serving')]))).status).toBe(UpdateStatus.Ok);
    await reader.until(() => textSeenBy(reader, docId) === 'still serving', { what: 'the edit after the malformed messages' });
    writer.close();
    reader.close();
  });

  it('revocations on one node reach sockets on another within a second', async () => {
    const [a, b] = await startNodes(2);
    const user = await signUp(a!.httpUrl);
    const docId = await createDocument(a!);
    const ownerApi = new ApiClient(a!.httpUrl, { token: a!.token });
    await ownerApi.put(`/api/documents/${docId}/members`, { email: user.email, role: 'editor' });
    const member = await RawPeer.connect(b!.wsUrl, user.token);
    await member.joinAndWait(docId);
    expect((await ownerApi.delete(`/api/documents/${docId}/members/${user.id}`)).status).toBe(204);
    const evicted = (await member.next((m) => m.type === MessageType.RoomError, 0, 1_000)) as RoomError;
    expect(evicted.code).toBe(RoomErrorCode.Evicted);

    const tokenPeer = await RawPeer.connect(b!.wsUrl, user.token);
    const userApi = new ApiClient(a!.httpUrl, { token: user.token });
    const { tokens } = (await userApi.get('/api/me/tokens')).body;
    expect((await userApi.delete(`/api/me/tokens/${tokens[0].id}`)).status).toBe(204);
    expect((await tokenPeer.closed(1_000)).code).toBe(CloseCode.Revoked);
    member.close();
  });
});

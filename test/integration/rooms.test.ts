/**
 * Room lifecycle and storage: group commit, compaction, unloading after the grace period,
 * presence relay.
 */
import { EphemeralStore, LoroDoc, decodeImportBlobMeta } from 'loro-crdt';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadStoredDocument } from '../../db/repositories/doc-log';
import { WorkerCompactor } from '../../server/sync/compactor';
import { DocStore } from '../../server/sync/doc-store';
import { GroupLogWriter, entryOf } from '../../server/sync/log-writer';
import { CrdtType, MessageType, UpdateStatus } from '../../shared/protocol/index';
import { backends } from '../helpers/backends';
import { useTestServer } from '../helpers/server-fixture';
import { RawPeer } from '../helpers/raw-peer';
import { storedDoc } from '../helpers/stored';
import { createDocument } from '../helpers/test-server';
import { TEXT, appendEdit, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

describe.each(backends)('rooms ($name)', (backend) => {
  const fixture = useTestServer(backend, { roomGraceMs: 50, compactAfterUpdates: 20, compactAfterBytes: 1 << 30 });

  it('writes concurrent updates to one document in shared transactions, in a gap-free log', async () => {
    const docId = await createDocument(fixture.server);
    const peers = await Promise.all(Array.from({ length: 8 }, () => RawPeer.connect(fixture.server.wsUrl, fixture.server.token)));
    await Promise.all(peers.map((p) => p.joinAndWait(docId)));
    const batches = peers.flatMap((peer, i) => {
      const doc = new LoroDoc();
      return Array.from({ length: 25 }, (_, k) => {
        const before = doc.oplogVersion();
        doc.getText(TEXT).insert(0, `${i}:${k} `);
        doc.commit();
        return { peer, id: peer.update(docId, [doc.export({ mode: 'update', from: before })]) };
      });
    });
    for (const { peer, id } of batches) expect((await peer.ackFor(id)).status).toBe(UpdateStatus.Ok);
    const stored = await loadStoredDocument(fixture.db.handle.db, docId);
    const seqs = [...(stored.snapshot ? [stored.snapshot.seq] : []), ...stored.log.map((e) => e.seq)];
    // 200 updates, far fewer commits; sequence numbers without gaps.
    expect(stored.headSeq).toBeLessThan(200);
    expect(stored.log.map((e) => e.seq)).toEqual(Array.from({ length: stored.log.length }, (_, i) => (stored.snapshot?.seq ?? 0) + i + 1));
    expect(seqs.at(-1)).toBe(stored.headSeq);
    // An entry holds one update: a lone one as sent, several merged into one.
    for (const entry of stored.log) expect(entry.updates).toHaveLength(1);
    expect(
      textOf(await storedDoc(fixture.db.handle.db, docId))
        .split(' ')
        .filter(Boolean),
    ).toHaveLength(200);
    for (const p of peers) p.close();
  });

  it('commits appends to many documents together, one entry each, and a deleted document fails alone', async () => {
    const docIds = await Promise.all(Array.from({ length: 12 }, () => createDocument(fixture.server)));
    const gone = docIds[5]!;
    await sql`update documents set deleted_at = now() where id = ${gone}`.execute(fixture.db.handle.db);
    const writer = new GroupLogWriter(fixture.db.handle.db);
    // Three rounds of appends to all twelve at once. The very first append is written at once,
    // alone; the others wait for it, and then go one entry per document per commit.
    const rounds = [0, 1, 2].map((round) =>
      docIds.map((docId) => {
        const doc = new LoroDoc();
        doc.getText(TEXT).insert(0, `${docId}:${round}`);
        return writer.append(docId, entryOf([doc.export({ mode: 'update' })])).then(
          (seq) => ({ docId, seq }),
          (error: unknown) => ({ docId, error }),
        );
      }),
    );
    const outcomes = await Promise.all(rounds.flat());
    for (const o of outcomes) {
      if (o.docId === gone) expect(o).toMatchObject({ error: expect.objectContaining({ name: 'DocumentGoneError' }) });
      else expect(o).not.toHaveProperty('error');
    }
    for (const docId of docIds.filter((d) => d !== gone)) {
      const stored = await loadStoredDocument(fixture.db.handle.db, docId);
      expect(stored.log.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(stored.headSeq).toBe(3);
    }
    const rows = await sql<{ n: number }>`select count(*)::int as n from doc_updates where doc_id = ${gone}`.execute(fixture.db.handle.db);
    expect(rows.rows[0]!.n).toBe(0);
    // Rows written by one transaction share its xmin: 33 entries in 4 commits.
    const commits = await sql<{ n: number; entries: number }>`
      select count(distinct xmin::text)::int as n, count(*)::int as entries from doc_updates where doc_id in (${sql.join(docIds)})`.execute(fixture.db.handle.db);
    expect(commits.rows[0]).toEqual({ n: 4, entries: 33 });
  });

  it('appends gather until the commit interval is up: after a commit, two appends a moment apart share the next one', async () => {
    const update = (text: string): Uint8Array => {
      const doc = new LoroDoc();
      doc.getText(TEXT).insert(0, text);
      return doc.export({ mode: 'update' });
    };
    /** First an append alone, then two a task apart; returns how many commits stored the three. */
    const commitsFor = async (writer: GroupLogWriter, whileWaiting?: (docIds: string[]) => Promise<void>): Promise<number> => {
      const docIds = await Promise.all(Array.from({ length: 3 }, () => createDocument(fixture.server)));
      expect(await writer.append(docIds[0]!, entryOf([update('first')]))).toBe(1); // a quiet writer writes at once
      const second = writer.append(docIds[1]!, entryOf([update('second')]));
      await new Promise((resolve) => setImmediate(resolve)); // by now a writer without an interval has the second in flight
      const third = writer.append(docIds[2]!, entryOf([update('third')]));
      await whileWaiting?.(docIds);
      expect(await Promise.all([second, third])).toEqual([1, 1]);
      // Rows written by one transaction share its xmin.
      return (await sql<{ n: number }>`select count(distinct xmin::text)::int as n from doc_updates where doc_id in (${sql.join(docIds)})`.execute(fixture.db.handle.db)).rows[0]!.n;
    };
    const stored = async (docIds: string[]): Promise<number> =>
      (await sql<{ n: number }>`select count(*)::int as n from doc_updates where doc_id in (${sql.join(docIds)})`.execute(fixture.db.handle.db)).rows[0]!.n;
    // A 2 s interval, far longer than the steps between the appends: while it runs, only the first is stored.
    expect(await commitsFor(new GroupLogWriter(fixture.db.handle.db, { minIntervalMs: 2_000 }), async (docIds) => expect(await stored(docIds)).toBe(1))).toBe(2);
    expect(await commitsFor(new GroupLogWriter(fixture.db.handle.db, { minIntervalMs: 0 }))).toBe(3);
  });

  it('the next group starts as soon as enough updates wait, and takes what its rooms queued while they waited', async () => {
    const update = (text: string): Uint8Array => {
      const doc = new LoroDoc();
      doc.getText(TEXT).insert(0, text);
      return doc.export({ mode: 'update' });
    };
    // An interval far longer than the test: only the count of waiting updates can start the second group.
    const writer = new GroupLogWriter(fixture.db.handle.db, { minIntervalMs: 60_000, startAtOnce: 3 });
    const docIds = await Promise.all(Array.from({ length: 2 }, () => createDocument(fixture.server)));
    expect(await writer.append(docIds[0]!, entryOf([update('a')]))).toBe(1); // a quiet writer writes at once
    const queued = [update('b'), update('c')];
    let taken: number | null = null;
    const second = writer.append(docIds[1]!, { waiting: () => queued.length, take: () => ((taken = queued.length), { updates: [...queued] }) });
    writer.grew();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(taken).toBeNull(); // two wait: below the threshold, within the interval
    queued.push(update('d'));
    writer.grew();
    expect(await second).toBe(1);
    expect(taken).toBe(3); // the entry was made when the group started, with the update queued meanwhile
    const stored = await sql<{ n: number }>`select update_count as n from doc_updates where doc_id = ${docIds[1]!}`.execute(fixture.db.handle.db);
    expect(stored.rows).toEqual([{ n: 3 }]);
  });

  it('a joiner with nothing gets the document as one update, shared by the next joiners, with later updates after it', async () => {
    const docId = await createDocument(fixture.server);
    const author = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await author.joinAndWait(docId);
    const doc = new LoroDoc();
    const edit = (text: string): Uint8Array => {
      const before = doc.oplogVersion();
      doc.getText(TEXT).insert(0, text);
      doc.commit();
      return doc.export({ mode: 'update', from: before });
    };
    // A short log without snapshot goes as stored: a few small updates are what an export would be.
    const early = [edit('a '), edit('b '), edit('c ')];
    for (const update of early) expect((await author.ackFor(author.update(docId, [update]))).status).toBe(UpdateStatus.Ok);
    const small = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await small.joinAndWait(docId);
    await small.until(() => small.updatesFor(docId).length >= 3, { what: 'the three stored updates' });
    expect(small.updatesFor(docId).map((u) => Buffer.from(u).toString('hex'))).toEqual(early.map((u) => Buffer.from(u).toString('hex')));
    small.close();
    // 25 more acknowledged updates: past compactAfterUpdates (20), so the room's base is a snapshot.
    for (let i = 0; i < 25; i++) expect((await author.ackFor(author.update(docId, [edit(`${i} `)]))).status).toBe(UpdateStatus.Ok);
    await waitFor(async () => (await loadStoredDocument(fixture.db.handle.db, docId)).snapshot !== null, { what: 'a snapshot' });

    const joinEmpty = async (): Promise<{ peer: RawPeer; updates: Uint8Array[] }> => {
      const peer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
      await peer.joinAndWait(docId);
      await peer.until(
        () => {
          const replica = new LoroDoc();
          replica.importBatch(peer.updatesFor(docId));
          return textOf(replica) === textOf(doc);
        },
        { what: 'the whole document' },
      );
      return { peer, updates: peer.updatesFor(docId) };
    };
    const first = await joinEmpty();
    // An update, not the snapshot: a client with subscribers imports a snapshot by replaying
    // its history to compute the event (see server/sync/doc-room/join-answer.ts).
    expect(first.updates).toHaveLength(1);
    expect(decodeImportBlobMeta(first.updates[0]!, true).mode).toBe('update');
    const second = await joinEmpty();
    expect(Buffer.from(second.updates[0]!).equals(Buffer.from(first.updates[0]!))).toBe(true);

    // A later edit follows the shared export.
    const later = edit('later ');
    expect((await author.ackFor(author.update(docId, [later]))).status).toBe(UpdateStatus.Ok);
    const third = await joinEmpty();
    expect(third.updates).toHaveLength(2);
    expect(Buffer.from(third.updates[0]!).equals(Buffer.from(first.updates[0]!))).toBe(true);
    expect(Buffer.from(third.updates[1]!).equals(Buffer.from(later))).toBe(true);

    // An update whose dependencies are missing is not in the oplog's export: from then on
    // joiners get the stored bytes, which hold it.
    const other = new LoroDoc();
    other.getText(TEXT).insert(0, 'a');
    other.commit();
    const v1 = other.oplogVersion();
    other.getText(TEXT).insert(1, 'b');
    other.commit();
    const orphan = other.export({ mode: 'update', from: v1 });
    expect((await author.ackFor(author.update(docId, [orphan]))).status).toBe(UpdateStatus.Ok);
    const fourth = await joinEmpty();
    expect(fourth.updates.some((u) => Buffer.from(u).equals(Buffer.from(orphan)))).toBe(true);
    for (const p of [author, first.peer, second.peer, third.peer, fourth.peer]) p.close();
  });

  it('compacts the log into a snapshot, and a reload from snapshot + tail is exact', async () => {
    const docId = await createDocument(fixture.server);
    const client = fixture.client();
    const room = await client.open(docId);
    await room.whenSynced();
    const text = room.doc.getText(TEXT);
    for (let i = 0; i < 60; i++) {
      text.insert(text.length, `line ${i}\n`);
      room.doc.commit();
      await room.whenAcknowledged(); // one commit each, so the log grows past the threshold
    }
    await waitFor(async () => (await loadStoredDocument(fixture.db.handle.db, docId)).snapshot, { what: 'a snapshot' });
    const stored = await loadStoredDocument(fixture.db.handle.db, docId);
    expect(stored.snapshot!.seq).toBeGreaterThanOrEqual(20);
    expect(stored.log.every((e) => e.seq > stored.snapshot!.seq)).toBe(true);
    expect(textOf(await storedDoc(fixture.db.handle.db, docId))).toBe(textOf(room.doc));

    // Cold: a new server loads snapshot + tail.
    client.close();
    await fixture.restart();
    const reader = fixture.client();
    const fresh = await reader.open(docId);
    await fresh.whenSynced();
    expect(textOf(fresh.doc)).toBe(textOf(room.doc));
  });

  it('two compactions of one document at once: one wins the lease, the result is consistent', async () => {
    const docId = await createDocument(fixture.server);
    const peer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await peer.joinAndWait(docId);
    const doc = new LoroDoc();
    for (let i = 0; i < 5; i++) {
      const before = doc.oplogVersion();
      doc.getText(TEXT).insert(0, `${i}`);
      doc.commit();
      expect((await peer.ackFor(peer.update(docId, [doc.export({ mode: 'update', from: before })]))).status).toBe(UpdateStatus.Ok);
    }
    const compactor = new WorkerCompactor();
    const store = new DocStore(fixture.db.handle.db, new GroupLogWriter(fixture.db.handle.db), compactor);
    const results = await Promise.all([store.compact(docId), store.compact(docId)]);
    await compactor.close();
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(textOf(await storedDoc(fixture.db.handle.db, docId))).toBe(textOf(doc));
    peer.close();
  });

  it('keeps acknowledged updates whose dependencies are missing through compaction', async () => {
    const docId = await createDocument(fixture.server);
    const author = new LoroDoc();
    author.getText(TEXT).insert(0, 'hello');
    author.commit();
    const u1 = author.export({ mode: 'update' });
    const v1 = author.oplogVersion();
    author.getText(TEXT).insert(5, ' world');
    author.commit();
    const u2 = author.export({ mode: 'update', from: v1 });

    const peer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await peer.joinAndWait(docId);
    // u2 arrives alone: Loro holds it as pending (its parent u1 is missing), and it is stored.
    expect((await peer.ackFor(peer.update(docId, [u2]))).status).toBe(UpdateStatus.Ok);
    const compactor = new WorkerCompactor();
    const compacted = await new DocStore(fixture.db.handle.db, new GroupLogWriter(fixture.db.handle.db), compactor).compact(docId);
    await compactor.close();
    expect(compacted?.pending).not.toBeNull();
    expect((await loadStoredDocument(fixture.db.handle.db, docId)).log).toEqual([]);

    // A cold server, then u1: the document is whole.
    peer.close();
    await fixture.restart();
    const late = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await late.joinAndWait(docId);
    expect((await late.ackFor(late.update(docId, [u1]))).status).toBe(UpdateStatus.Ok);
    expect(textOf(await storedDoc(fixture.db.handle.db, docId))).toBe('hello world');
    late.close();
  });

  it('unloads a room after the grace period and reloads it on the next join', async () => {
    const docId = await createDocument(fixture.server);
    const peer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await peer.joinAndWait(docId);
    expect(fixture.server.server.rooms.loadedDocuments).toBe(1);
    peer.send({ type: MessageType.Leave, crdt: CrdtType.Loro, roomId: docId });
    await waitFor(() => fixture.server.server.rooms.loadedDocuments === 0, { what: 'the room to unload' });
    expect((await peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    expect(fixture.server.server.rooms.loadedDocuments).toBe(1);
    peer.close();
    await waitFor(() => fixture.server.server.rooms.loadedDocuments === 0, { what: 'the room to unload after close' });
  });

  it('an update stored while waiting for its dependency reaches a socket that joins after a reload (the export leaves it out)', async () => {
    const docId = await createDocument(fixture.server);
    const writer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await writer.joinAndWait(docId);
    const doc = new LoroDoc();
    const edit = (text: string): Uint8Array => appendEdit(doc, text);
    const base = edit('base ');
    expect((await writer.ackFor(writer.update(docId, [base]))).status).toBe(UpdateStatus.Ok);
    const baseVersion = doc.oplogVersion().encode();
    const middle = edit('middle ');
    // Sent without the edit it builds on: stored as sent, acknowledged, and waiting.
    expect((await writer.ackFor(writer.update(docId, [edit('end')]))).status).toBe(UpdateStatus.Ok);
    writer.close();
    await waitFor(() => fixture.server.server.rooms.loadedDocuments === 0, { what: 'the room to unload' });
    // Reloaded from storage; a reader that holds the base joins with its version.
    const reader = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await reader.joinAndWait(docId, { version: baseVersion });
    const late = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await late.joinAndWait(docId);
    expect((await late.ackFor(late.update(docId, [middle]))).status).toBe(UpdateStatus.Ok);
    // The missing edit completes the waiting one on the server without a relay of it: the reader had it from its join.
    await reader.until(
      () => {
        const seen = new LoroDoc();
        seen.importBatch([base, ...reader.updatesFor(docId)]);
        return textOf(seen) === 'base middle end';
      },
      { what: 'the whole text on the reader' },
    );
    reader.close();
    late.close();
  });

  it('relays presence to the others and gives a newcomer the current state', async () => {
    const docId = await createDocument(fixture.server);
    const [a, b] = await Promise.all([RawPeer.connect(fixture.server.wsUrl, fixture.server.token), RawPeer.connect(fixture.server.wsUrl, fixture.server.token)]);
    for (const p of [a, b]) expect((await p.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore })).type).toBe(MessageType.JoinResponseOk);
    const store = new EphemeralStore(30_000);
    store.set('alice', { cursor: 3 });
    const ack = await a.ackFor(a.update(docId, [store.encodeAll()], { crdt: CrdtType.LoroEphemeralStore }));
    expect(ack.status).toBe(UpdateStatus.Ok);
    const seenByB = new EphemeralStore(30_000);
    await b.until(() => b.updatesFor(docId, CrdtType.LoroEphemeralStore).length > 0, { what: 'presence at B' });
    for (const u of b.updatesFor(docId, CrdtType.LoroEphemeralStore)) seenByB.apply(u);
    // Under A's namespace, stamped with who A is (the server's owner account).
    const [aliceKey] = seenByB.keys();
    expect(aliceKey).toMatch(/^[\w-]+\/alice$/);
    expect(seenByB.get(aliceKey!)).toMatchObject({ cursor: 3, user: expect.any(String), name: expect.any(String) });

    const c = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await c.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore });
    await c.until(() => c.updatesFor(docId, CrdtType.LoroEphemeralStore).length > 0, { what: 'presence state for the newcomer' });
    const seenByC = new EphemeralStore(30_000);
    for (const u of c.updatesFor(docId, CrdtType.LoroEphemeralStore)) seenByC.apply(u);
    expect(seenByC.get(aliceKey!)).toEqual(seenByB.get(aliceKey!));
    // Garbage presence is refused.
    expect((await a.ackFor(a.update(docId, [new Uint8Array([9, 9, 9])], { crdt: CrdtType.LoroEphemeralStore }))).status).toBe(UpdateStatus.InvalidUpdate);
    for (const p of [a, b, c]) p.close();
    for (const s of [store, seenByB, seenByC]) s.destroy();
  });

  it('an edit relayed before a write that fails for good comes back from a reader when its sender is gone', async () => {
    const docId = await createDocument(fixture.server);
    const writer = fixture.client();
    const reader = fixture.client();
    const [a, b] = await Promise.all([writer.open(docId), reader.open(docId)]);
    await Promise.all([a.whenSynced(), b.whenSynced()]);
    // Every write to the log fails with an error that is not worth retrying.
    await sql`CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`.execute(fixture.db.handle.db);
    await sql`CREATE TRIGGER refuse_write BEFORE INSERT ON doc_updates FOR EACH ROW EXECUTE FUNCTION refuse_write()`.execute(fixture.db.handle.db);
    a.doc.getText(TEXT).insert(0, 'seen, never stored');
    a.doc.commit();
    // The reader sees it at once (relayed on import), though the server never stored it.
    await waitFor(() => textOf(b.doc) === 'seen, never stored', { what: 'the relayed edit to reach the reader' });
    expect(a.unacknowledged).toBe(1);
    // Its sender leaves for good with it unacknowledged; then the database accepts writes again.
    writer.close();
    await sql`DROP TRIGGER refuse_write ON doc_updates`.execute(fixture.db.handle.db);
    // The failed room asked the reader to rejoin; on rejoin it sends what the server lacks.
    await waitFor(async () => textOf(await storedDoc(fixture.db.handle.db, docId)) === 'seen, never stored', {
      what: 'the edit to be stored from the reader',
      timeoutMs: 15_000,
    });
  });
});

/**
 * The parts of a document room (server/sync/doc-room/) in one process, on the real databases:
 * SyncClients talk to Connections through in-process socket pairs (test/helpers/socket-pair.ts),
 * with no HTTP server and no network. Two registries on one database stand for two nodes.
 */
import { LoroDoc } from 'loro-crdt';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadStoredDocument } from '../../db/repositories/doc-log';
import { createLogger } from '../../server/logger';
import { WriteQueue, type CommitFailure } from '../../server/sync/doc-room/write-queue';
import { exportSpans, spansOfImport } from '../../shared/op-spans';
import { MessageType, decodeMessage } from '../../shared/protocol/index';
import { backends, type TestDatabase } from '../helpers/backends';
import { startInProcessSync, type InProcessSync } from '../helpers/in-process-sync';
import { storedDoc } from '../helpers/stored';
import { appendEdit, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

const messagesIn = (frames: readonly (Uint8Array | string)[]) =>
  frames.flatMap((f) => {
    if (typeof f === 'string') return [];
    const decoded = decodeMessage(f);
    return decoded.ok ? [decoded.message] : [];
  });

describe.each(backends)('doc room parts ($name)', (backend) => {
  let db: TestDatabase;
  const nodes: InProcessSync[] = [];
  const node = (options: Parameters<typeof startInProcessSync>[1] = {}): InProcessSync => {
    const n = startInProcessSync(db, options);
    nodes.push(n);
    return n;
  };

  beforeEach(async () => {
    db = await backend.create();
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
    await db.drop();
  });

  it('relays a member’s edit to the others and acknowledges it only once it is in the database', async () => {
    const sync = node();
    const docId = await sync.createDocument();
    const writer = sync.client({ autoFlush: false });
    const reader = sync.client();
    const mine = await writer.open(docId);
    const theirs = await reader.open(docId);
    const pair = await waitFor(() => sync.pairs[0], { what: 'the writer’s socket' });
    pair.autoFlush = true;
    await mine.whenSynced();
    pair.autoFlush = false;
    appendEdit(mine.doc, 'stored before acknowledged');
    pair.flushToServer();
    // Hold the server's frames: the moment the Ack is on its way, the edit is in the database.
    await waitFor(() => messagesIn(pair.toClient).some((m) => m.type === MessageType.Ack), { what: 'the Ack' });
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe('stored before acknowledged');
    await waitFor(() => textOf(theirs.doc) === 'stored before acknowledged', { what: 'the relay' });
    pair.flushToClient();
    await mine.whenAcknowledged();
  });

  it('resends what was in flight when the socket dropped, and the document stays exact', async () => {
    const sync = node();
    const docId = await sync.createDocument();
    const client = sync.client({ autoFlush: false });
    const room = await client.open(docId);
    const first = await waitFor(() => sync.pairs[0], { what: 'a socket' });
    first.autoFlush = true;
    await room.whenSynced();
    first.autoFlush = false;
    appendEdit(room.doc, 'one ');
    appendEdit(room.doc, 'two');
    first.flushToServer();
    await waitFor(() => messagesIn(first.toClient).some((m) => m.type === MessageType.Ack), { what: 'the Ack' });
    first.drop(); // the Ack is lost with the socket
    expect(room.unacknowledged).toBeGreaterThan(0);
    const second = await waitFor(() => sync.pairs[1], { what: 'the reconnect' });
    second.autoFlush = true;
    await room.whenAcknowledged();
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe('one two');
    const late = await sync.client().open(docId);
    await late.whenSynced();
    expect(textOf(late.doc)).toBe('one two');
  });

  it('evicts the members of a document deleted under them, and never acknowledges what it could not store', async () => {
    const sync = node();
    const docId = await sync.createDocument();
    const room = await sync.client().open(docId);
    await room.whenSynced();
    await sql`update documents set deleted_at = now() where id = ${docId}`.execute(db.handle.db);
    appendEdit(room.doc, 'into the void');
    await waitFor(() => room.status === 'failed', { what: 'the eviction' });
    // The RoomError (evicted) comes first; the refused Ack that follows it (the write failed for
    // good) leaves the room failed as update_refused. Either way nothing was acknowledged.
    expect(['evicted', 'update_refused']).toContain(room.error?.reason);
    expect(room.unacknowledged).toBe(1);
    expect(sync.rooms.loadedDocuments).toBe(0); // dropped: its memory was ahead of the database
  });

  it('compacts past the threshold, and a joiner still gets everything', async () => {
    const sync = node({ sync: { compactAfterUpdates: 5 } });
    const docId = await sync.createDocument();
    const room = await sync.client().open(docId);
    await room.whenSynced();
    for (const word of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      appendEdit(room.doc, word);
      await room.whenAcknowledged(); // one commit each
    }
    // The compaction worker thread starts on first use: on a loaded machine that takes a while.
    await waitFor(async () => (await loadStoredDocument(db.handle.db, docId)).snapshot, { what: 'a snapshot', timeoutMs: 60_000 });
    const stored = await loadStoredDocument(db.handle.db, docId);
    expect(stored.snapshot!.seq).toBeGreaterThanOrEqual(5);
    const late = await sync.client().open(docId);
    await late.whenSynced();
    expect(textOf(late.doc)).toBe('abcdefgh');
  });

  it('applies another node’s commits from doorbells, and reads the log when one is lost', async () => {
    let ringB: (docId: string, seq: number, updates: readonly Uint8Array[]) => void = () => {};
    const a = node({ rooms: { onCommitted: (docId, seq, updates) => ringB(docId, seq, updates) } });
    const b = node();
    let lost = 0;
    ringB = (docId, seq, updates) => {
      if (seq === 2 && lost++ === 0) return; // the bus lost this doorbell
      b.rooms.offerEntry(docId, seq, [...updates]);
    };
    const docId = await a.createDocument();
    const writer = await a.client().open(docId);
    const reader = await b.client().open(docId);
    await Promise.all([writer.whenSynced(), reader.whenSynced()]);
    const sent: string[] = [];
    for (const word of ['first ', 'second ', 'third']) {
      appendEdit(writer.doc, word);
      sent.push(word);
      await writer.whenAcknowledged();
    }
    // Doorbell 1 applied; 2 lost; 3 is past a gap, so node B read 2 and 3 from the log.
    await waitFor(() => textOf(reader.doc) === 'first second third', { what: 'node B’s member to get every commit' });
    expect(lost).toBe(1);
    const roomB = await b.rooms.acquireDoc(docId);
    const roomA = await a.rooms.acquireDoc(docId);
    expect(roomB.committedSeq).toBe(roomA.committedSeq);
  });

  it('relays edits another node accepted before they are stored, and stores what a member there sends', async () => {
    let offerToB: (docId: string, updates: readonly Uint8Array[]) => void = () => {};
    const a = node({ rooms: { onAccepted: (docId, updates) => offerToB(docId, updates) } });
    const b = node();
    offerToB = (docId, updates) => b.rooms.offerEdits(docId, [...updates]);
    const docId = await a.createDocument();
    const writer = await a.client().open(docId);
    const reader = await b.client().open(docId);
    await Promise.all([writer.whenSynced(), reader.whenSynced()]);
    appendEdit(writer.doc, 'early ');
    await waitFor(() => textOf(reader.doc) === 'early ', { what: 'the early edit on node B' });
    appendEdit(reader.doc, 'reply');
    await Promise.all([writer.whenAcknowledged(), reader.whenAcknowledged()]);
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe('early reply');
  });

  it('write queue: retries while the database refuses, then stores the queued submits as one merged entry', async () => {
    const sync = node();
    const docId = await sync.createDocument();
    const author = new LoroDoc();
    const server = new LoroDoc();
    const writes = ['x', 'y', 'z'].map((t) => {
      const update = appendEdit(author, t);
      return { updates: [update], spans: spansOfImport(server.import(update)), asSent: [], peers: [] };
    });
    let refusals = 0;
    const stored: number[] = [];
    const failures: CommitFailure[] = [];
    const queue = new WriteQueue({
      docId,
      log: createLogger('silent'),
      append: (updates) => {
        if (refusals < 2) {
          refusals++;
          return Promise.reject(Object.assign(new Error('the database system is shutting down'), { code: '57P01' }));
        }
        return sync.store.append(docId, updates);
      },
      exportSpans: (spans) => exportSpans(server, spans),
      onStored: (seq) => stored.push(seq),
      onBatchDone: () => {},
      onFailed: (reason) => failures.push(reason),
      onSettled: () => {},
      grew: () => sync.store.grew(),
    });
    const committed = writes.map((w) => queue.enqueue(w));
    expect(queue.unstoredCount()).toBe(3);
    await Promise.all(committed);
    expect(refusals).toBe(2);
    expect(failures).toEqual([]);
    expect(stored).toEqual([1]); // one entry for the three
    const log = await loadStoredDocument(db.handle.db, docId);
    expect(log.log).toHaveLength(1);
    expect(log.log[0]!.updates).toHaveLength(1);
    expect(textOf(await storedDoc(db.handle.db, docId))).toBe('xyz');
    queue.close();
  });

  it('write queue: a deleted document fails the batch for good; closing rejects a batch waiting to retry', async () => {
    const sync = node();
    const docId = await sync.createDocument();
    await sql`update documents set deleted_at = now() where id = ${docId}`.execute(db.handle.db);
    const failures: CommitFailure[] = [];
    let transient = false;
    let refused = 0;
    const queue = new WriteQueue({
      docId,
      log: createLogger('silent'),
      append: (updates) => (transient ? (refused++, Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }))) : sync.store.append(docId, updates)),
      exportSpans: () => {
        throw new Error('a lone update is stored as sent');
      },
      onStored: () => {},
      onBatchDone: () => {},
      onFailed: (reason) => failures.push(reason),
      onSettled: () => {},
      grew: () => sync.store.grew(),
    });
    const gone = queue.enqueue({ updates: [appendEdit(new LoroDoc(), 'lost')], spans: [], asSent: [], peers: [] });
    await expect(gone).rejects.toMatchObject({ name: 'CommitError', reason: 'document_gone' });
    expect(failures).toEqual(['document_gone']);
    transient = true;
    const waiting = queue.enqueue({ updates: [appendEdit(new LoroDoc(), 'waiting')], spans: [], asSent: [], peers: [] });
    await waitFor(() => refused > 0, { what: 'a refusal' }); // the batch is back in the queue, waiting to retry
    expect(queue.hasPending).toBe(true);
    queue.close();
    await expect(waiting).rejects.toMatchObject({ name: 'CommitError', reason: 'storage_failed' });
    expect(failures).toEqual(['document_gone']); // a transient failure is not a failure for good
  });
});

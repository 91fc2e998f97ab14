/**
 * The per-document update log and its snapshots.
 *
 * Each log entry (row) holds the updates of one group commit. Sequence numbers come from
 * `documents.head_seq`, bumped in the same transaction that inserts the row: the row lock
 * makes writers of one document take turns, so `seq` is gap-free and in commit order (a
 * global sequence is not: a later value can commit first and a reader at "seq > last" would
 * skip the earlier one).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { PREPARED } from '../prepared';
import type { Database } from '../schema';
import { decodeUpdateBatch, encodeUpdateBatch } from '../update-batch';

type Db = Kysely<Database> | Transaction<Database>;

/** One log entry: the updates committed together under one sequence number. */
export interface LogEntry {
  seq: number;
  updates: Uint8Array[];
  /** When it was committed (entries read from the database; doorbells carry none). */
  at?: Date;
}

/** Who sent a Loro peer id's first accepted ops: an account, or the share link of an anonymous writer. */
export interface PeerAttribution {
  /** A Loro PeerID, in decimal. */
  peer: string;
  userId: string | null;
  linkId: string | null;
}

export interface Snapshot {
  /** Covers every log entry with a sequence number up to this one. */
  seq: number;
  bytes: Uint8Array;
  /** Updates from those entries still waiting for their dependencies: kept beside the snapshot,
   *  which cannot hold them (else folding the log would lose them). */
  pending: Uint8Array | null;
  /** UTF-8 bytes of the document's text at this snapshot, when measured (compaction does). */
  textBytes?: number | null;
}

export interface StoredDocument {
  snapshot: Snapshot | null;
  /** Log entries after the snapshot, in `seq` order. */
  log: LogEntry[];
  /** The last sequence number the document had when read. */
  headSeq: number;
}

/** The document is gone (deleted, or never existed): its updates cannot be stored. */
export class DocumentGoneError extends Error {
  override readonly name = 'DocumentGoneError';
  constructor(readonly docId: string) {
    super(`document ${docId} does not exist or was deleted`);
  }
}

/**
 * Appends one log entry holding `updates` and returns its sequence number. One statement, so
 * one round trip and its own transaction: the UPDATE takes the document row's lock (writers
 * of one document take turns) and the INSERT uses the number it returns.
 */
export async function appendLogEntry(db: Db, docId: string, updates: readonly Uint8Array[], peers: readonly PeerAttribution[] = []): Promise<number> {
  const row = await db
    .with('head', (qb) => qb.updateTable('documents').set({ head_seq: sql`head_seq + 1`, updated_at: sql`now()` }).where('id', '=', docId).where('deleted_at', 'is', null).returning('head_seq'))
    .insertInto('doc_updates')
    .columns(['doc_id', 'seq', 'updates', 'update_count'])
    .expression((eb) =>
      eb
        .selectFrom('head')
        // Parameters in a SELECT list get no type from the INSERT's columns: cast them.
        .select([
          sql<string>`${docId}::text`.as('doc_id'),
          'head.head_seq',
          sql<Uint8Array>`${encodeUpdateBatch(updates)}::bytea`.as('updates'),
          sql<number>`${updates.length}::integer`.as('update_count'),
        ]),
    )
    .returning('seq')
    .executeTakeFirst();
  if (!row) throw new DocumentGoneError(docId);
  if (peers.length > 0) await recordPeers(db, docId, peers);
  return row.seq;
}

/** Records who sent these peer ids (the first attribution of a peer stays). */
export async function recordPeers(db: Db, docId: string, peers: readonly PeerAttribution[]): Promise<void> {
  if (peers.length === 0) return;
  await db
    .insertInto('doc_peers')
    .values(peers.map((p) => ({ doc_id: docId, peer: p.peer, user_id: p.userId, share_link_id: p.linkId })))
    .onConflict((oc) => oc.columns(['doc_id', 'peer']).doNothing())
    .execute();
}

/**
 * Appends one log entry to each of several documents in one statement (one round trip, one
 * commit, one WAL flush: a group commit across documents). Returns each entry's sequence
 * number, or null where the document is gone. Each document may appear once.
 *
 * Rows are listed in document-id order, so two nodes committing overlapping groups usually
 * lock document rows in the same order; a deadlock that still happens is a transient error
 * (40P01) and the caller's retry writes the group again.
 */
export async function appendLogEntries(db: Db, entries: readonly { docId: string; updates: readonly Uint8Array[]; peers?: readonly PeerAttribution[] | undefined }[]): Promise<(number | null)[]> {
  if (entries.length === 0) return [];
  const order = entries.map((_, i) => i).sort((a, b) => (entries[a]!.docId < entries[b]!.docId ? -1 : entries[a]!.docId > entries[b]!.docId ? 1 : 0));
  const rows = order.map((i) => {
    const { docId, updates } = entries[i]!;
    return sql`(${docId}::text, ${encodeUpdateBatch(updates)}::bytea, ${updates.length}::integer)`;
  });
  // Who sent peer ids new to their rooms, in the same statement, so an entry is never stored
  // without its authors. Rare (a peer is new once per client session), so the usual statement
  // stays the prepared one without it.
  const attributions = entries.flatMap((e) => (e.peers ?? []).map((p) => sql`(${e.docId}::text, ${p.peer}::text, ${p.userId}::text, ${p.linkId}::text)`));
  const attribute =
    attributions.length === 0
      ? sql``
      : sql`, attributed_in (doc_id, peer, user_id, share_link_id) as (values ${sql.join(attributions)}),
    attributed as (
      insert into doc_peers (doc_id, peer, user_id, share_link_id)
      select a.doc_id, a.peer, a.user_id, a.share_link_id from attributed_in a join head h on h.id = a.doc_id
      on conflict do nothing
    )`;
  // Prepared up to 16 rows (16 statement texts per connection); larger groups are rare and long.
  const prepared = sql.raw(entries.length <= 16 && attributions.length === 0 ? PREPARED : '');
  const result = await sql<{ doc_id: string; seq: number }>`${prepared}
    with input (doc_id, updates, update_count) as materialized (values ${sql.join(rows)}),
    head as (
      update documents d set head_seq = d.head_seq + 1, updated_at = now()
      from input i where d.id = i.doc_id and d.deleted_at is null
      returning d.id, d.head_seq
    )${attribute}
    insert into doc_updates (doc_id, seq, updates, update_count)
    select i.doc_id, h.head_seq, i.updates, i.update_count from input i join head h on h.id = i.doc_id
    returning doc_id, seq`.execute(db);
  const seqs = new Map(result.rows.map((r) => [r.doc_id, Number(r.seq)]));
  return entries.map((e) => seqs.get(e.docId) ?? null);
}

/** Latest snapshot plus the log after it, read from one consistent view. */
export async function loadStoredDocument(db: Kysely<Database>, docId: string): Promise<StoredDocument> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const doc = await trx.selectFrom('documents').select('head_seq').where('id', '=', docId).executeTakeFirst();
      if (!doc) throw new DocumentGoneError(docId);
      const snapshot = await readSnapshot(trx, docId);
      const log = await readLogAfter(trx, docId, snapshot?.seq ?? 0);
      return { snapshot, log, headSeq: doc.head_seq };
    });
}

/**
 * What a node that has everything up to `afterSeq` lacks: the log after it, or, when a
 * snapshot has since folded entries past it, that snapshot and the log after the snapshot.
 */
export async function readStoredSince(db: Kysely<Database>, docId: string, afterSeq: number): Promise<{ snapshot: Snapshot | null; log: LogEntry[] }> {
  // Usually the log still holds everything after `afterSeq`: one query. (The log is
  // gap-free, so starting at `afterSeq + 1`, or being empty, proves nothing was folded away.)
  const log = await readLogAfter(db, docId, afterSeq);
  if (log.length === 0 || log[0]!.seq === afterSeq + 1) {
    if (log.length > 0 || !(await hasSnapshotPast(db, docId, afterSeq))) return { snapshot: null, log };
  }
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const head = await trx.selectFrom('doc_snapshots').select('seq').where('doc_id', '=', docId).executeTakeFirst();
      const snapshot = head && head.seq > afterSeq ? await readSnapshot(trx, docId) : null;
      return { snapshot, log: await readLogAfter(trx, docId, snapshot ? snapshot.seq : afterSeq) };
    });
}

async function hasSnapshotPast(db: Db, docId: string, seq: number): Promise<boolean> {
  const row = await db.selectFrom('doc_snapshots').select('seq').where('doc_id', '=', docId).where('seq', '>', seq).executeTakeFirst();
  return row !== undefined;
}

/** Snapshots above this size are read in pieces of this size. */
const SNAPSHOT_CHUNK = 512 * 1024;

/**
 * The latest snapshot. A large one is read in 512 KiB pieces: `pg` parses each column value
 * as one hex string on the event loop, and a 2 MB snapshot as one piece stalled it ~50 ms.
 */
async function readSnapshot(trx: Transaction<Database>, docId: string): Promise<Snapshot | null> {
  const head = await trx
    .selectFrom('doc_snapshots')
    .select(['seq', 'pending', 'text_bytes', sql<number>`length(bytes)`.as('size'), sql<Uint8Array | null>`case when length(bytes) <= ${SNAPSHOT_CHUNK} then bytes end`.as('bytes')])
    .where('doc_id', '=', docId)
    .executeTakeFirst();
  if (!head) return null;
  if (head.bytes) return { seq: head.seq, bytes: head.bytes, pending: head.pending, textBytes: head.text_bytes };
  const bytes = new Uint8Array(head.size);
  for (let offset = 0; offset < head.size; offset += SNAPSHOT_CHUNK) {
    const piece = await trx
      .selectFrom('doc_snapshots')
      .select(sql<Uint8Array>`substring(bytes from ${offset + 1} for ${SNAPSHOT_CHUNK})`.as('piece'))
      .where('doc_id', '=', docId)
      .executeTakeFirstOrThrow();
    bytes.set(piece.piece, offset);
  }
  return { seq: head.seq, bytes, pending: head.pending, textBytes: head.text_bytes };
}

/** Log entries with `seq > afterSeq`, in order. */
export async function readLogAfter(db: Db, docId: string, afterSeq: number): Promise<LogEntry[]> {
  const rows = await db.selectFrom('doc_updates').select(['seq', 'updates', 'created_at']).where('doc_id', '=', docId).where('seq', '>', afterSeq).orderBy('seq').execute();
  return rows.map((r) => ({ seq: r.seq, updates: decodeUpdateBatch(r.updates), at: r.created_at }));
}

/**
 * Takes the compaction lease of a document for `leaseMs`: true when this caller holds it.
 * A lease, not a lock held on a connection, so a compactor that dies frees it by expiring.
 */
export async function tryLeaseCompaction(db: Db, docId: string, leaseMs: number): Promise<boolean> {
  const row = await db
    .updateTable('documents')
    .set({ compacting_until: sql`now() + ${`${leaseMs} milliseconds`}::interval` })
    .where('id', '=', docId)
    .where((eb) => eb.or([eb('compacting_until', 'is', null), eb('compacting_until', '<', sql<Date>`now()`)]))
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function releaseCompaction(db: Db, docId: string): Promise<void> {
  await db.updateTable('documents').set({ compacting_until: null }).where('id', '=', docId).execute();
}

/**
 * Stores a snapshot covering `seq` and drops the log it covers, unless a newer snapshot is
 * already stored. Returns true when it was stored. `beforeReplace` runs first in the same
 * transaction (the version history keeps what the dropped entries tell).
 */
export async function replaceSnapshot(db: Kysely<Database>, docId: string, snapshot: Snapshot, beforeReplace?: (trx: Transaction<Database>) => Promise<unknown>): Promise<boolean> {
  const { seq, bytes, pending } = snapshot;
  const text_bytes = snapshot.textBytes ?? null;
  return db.transaction().execute(async (trx) => {
    await beforeReplace?.(trx);
    const stored = await trx
      .insertInto('doc_snapshots')
      .values({ doc_id: docId, seq, bytes, pending, text_bytes })
      .onConflict((oc) => oc.column('doc_id').doUpdateSet({ seq, bytes, pending, text_bytes, created_at: sql`now()` }).where('doc_snapshots.seq', '<', seq))
      .returning('seq')
      .executeTakeFirst();
    if (!stored) return false;
    await trx.deleteFrom('doc_updates').where('doc_id', '=', docId).where('seq', '<=', seq).execute();
    return true;
  });
}

/** Everything stored of a document, in import order: snapshot, its pending sidecar, the log. */
export function documentParts(stored: StoredDocument): Uint8Array[] {
  const { snapshot } = stored;
  return [...(snapshot ? [snapshot.bytes] : []), ...(snapshot?.pending ? [snapshot.pending] : []), ...stored.log.flatMap((e) => e.updates)];
}

/** The head seq of each of these documents (for the periodic comparison with what a node applied). */
export async function readHeads(db: Kysely<Database>, docIds: readonly string[]): Promise<[string, number][]> {
  if (docIds.length === 0) return [];
  const rows = await db
    .selectFrom('documents')
    .select(['id', 'head_seq'])
    .where('id', 'in', [...docIds])
    .execute();
  return rows.map((r) => [r.id, r.head_seq]);
}

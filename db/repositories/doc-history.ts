/**
 * The version history's storage: who sent each peer id (`doc_peers`), and the grouped versions
 * compaction or naming has written (`doc_versions`). The log after the last stored version is
 * grouped when read (see `server/history/version-groups.ts`).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema';
import type { DocPeerRow } from '../tables/doc-peers';
import type { DocVersionRow } from '../tables/doc-versions';
import type { LogEntry } from './doc-log';
import { decodeUpdateBatch } from '../update-batch';

type Db = Kysely<Database> | Transaction<Database>;

/** What listing the history reads, from one consistent view. */
export interface HistorySource {
  versions: DocVersionRow[];
  peers: Pick<DocPeerRow, 'peer' | 'user_id' | 'share_link_id'>[];
  /** The stored snapshot's seq and time (0 and null without one). */
  snapshotSeq: number;
  snapshotAt: Date | null;
  /** Log entries after the last stored version (and after the snapshot). */
  log: LogEntry[];
  headSeq: number;
}

/**
 * Stored versions, peers, and the log after them; null when the document does not exist.
 * Entries up to `bytesAfter` come without their updates (the caller has read their headers).
 */
export async function readHistorySource(db: Kysely<Database>, docId: string, bytesAfter = 0): Promise<HistorySource | null> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const doc = await trx.selectFrom('documents').select('head_seq').where('id', '=', docId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!doc) return null;
      const versions = await readVersionRows(trx, docId);
      const peers = await readPeers(trx, docId);
      const snapshot = await trx.selectFrom('doc_snapshots').select(['seq', 'created_at']).where('doc_id', '=', docId).executeTakeFirst();
      const indexed = versions.at(-1)?.last_seq ?? 0;
      const rows = await trx
        .selectFrom('doc_updates')
        .select(['seq', 'created_at', sql<Uint8Array | null>`case when seq > ${bytesAfter} then updates end`.as('updates')])
        .where('doc_id', '=', docId)
        .where('seq', '>', Math.max(indexed, snapshot?.seq ?? 0))
        .orderBy('seq')
        .execute();
      const log = rows.map((r) => ({ seq: r.seq, at: r.created_at, updates: r.updates ? decodeUpdateBatch(r.updates) : [] }));
      return { versions, peers, snapshotSeq: snapshot?.seq ?? 0, snapshotAt: snapshot?.created_at ?? null, log, headSeq: doc.head_seq };
    });
}

export async function readVersionRows(db: Db, docId: string): Promise<DocVersionRow[]> {
  return db.selectFrom('doc_versions').selectAll().where('doc_id', '=', docId).orderBy('first_seq').execute();
}

export async function readPeers(db: Db, docId: string): Promise<Pick<DocPeerRow, 'peer' | 'user_id' | 'share_link_id'>[]> {
  return db.selectFrom('doc_peers').select(['peer', 'user_id', 'share_link_id']).where('doc_id', '=', docId).execute();
}

/**
 * Serialises writers of one document's stored versions (compaction, naming) for the rest of
 * `trx`. An advisory lock, not the document row: appends must not wait for it.
 */
export async function lockHistory(trx: Transaction<Database>, docId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`tandem-history:${docId}`}))`.execute(trx);
}

/** Inserts or replaces stored versions (by their first seq). */
export async function saveVersionRows(db: Db, rows: readonly DocVersionRow[]): Promise<void> {
  for (const row of rows) {
    const { doc_id, first_seq, ...rest } = row;
    await db
      .insertInto('doc_versions')
      .values(row)
      .onConflict((oc) => oc.columns(['doc_id', 'first_seq']).doUpdateSet(rest))
      .execute();
  }
}

/**
 * The stored snapshot, when it covers entries after `indexedSeq` that are not in the log any
 * more (before `nextSeq`): history compacted before versions were kept.
 */
export async function readSnapshotBefore(db: Db, docId: string, indexedSeq: number, nextSeq: number): Promise<{ seq: number; bytes: Uint8Array; at: Date } | null> {
  const row = await db.selectFrom('doc_snapshots').select(['seq', 'bytes', 'created_at']).where('doc_id', '=', docId).where('seq', '>', indexedSeq).where('seq', '<', nextSeq).executeTakeFirst();
  return row ? { seq: row.seq, bytes: row.bytes, at: row.created_at } : null;
}

/** Deletes the stored versions that end at or before `seq` (history trimmed by retention). */
export async function deleteVersionsThrough(db: Db, docId: string, seq: number): Promise<void> {
  await db.deleteFrom('doc_versions').where('doc_id', '=', docId).where('last_seq', '<=', seq).execute();
}

/** Display names of accounts, by id. */
export async function displayNames(db: Db, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .select(['id', 'display_name'])
    .where('id', 'in', [...userIds])
    .execute();
  return new Map(rows.map((r) => [r.id, r.display_name]));
}

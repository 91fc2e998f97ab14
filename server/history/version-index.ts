/**
 * Keeps the version history when the log it is built from goes away: compaction folds log
 * entries into a snapshot and deletes them (with their commit times), so it first groups them
 * into stored versions, in the same transaction. Naming a version stores the groups up to the
 * head the same way, and closes the last one.
 */
import type { Kysely, Transaction } from 'kysely';
import { decodeImportBlobMeta } from 'loro-crdt';
import { deleteVersionsThrough, lockHistory, readPeers, readSnapshotBefore, readVersionRows, saveVersionRows } from '../../db/repositories/doc-history';
import type { LogEntry } from '../../db/repositories/doc-log';
import { readLogAfter } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';
import type { DocVersionRow } from '../../db/tables/doc-versions';
import { UNKNOWN_AUTHOR, authorKeyOf, entryMetaOf, foldEntries, type VersionGroup } from './version-groups';

export function groupOfRow(row: DocVersionRow): VersionGroup {
  return {
    firstSeq: row.first_seq,
    lastSeq: row.last_seq,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    authors: JSON.parse(row.authors) as string[],
    ops: row.ops,
    version: row.version === null ? null : (JSON.parse(row.version) as Record<string, number>),
    name: row.name,
    namedBy: row.named_by,
    closed: row.closed,
  };
}

export function rowOfGroup(docId: string, g: VersionGroup): DocVersionRow {
  return {
    doc_id: docId,
    first_seq: g.firstSeq,
    last_seq: g.lastSeq,
    started_at: g.startedAt,
    ended_at: g.endedAt,
    authors: JSON.stringify(g.authors),
    ops: g.ops,
    version: g.version === null ? null : JSON.stringify(g.version),
    name: g.name,
    named_by: g.namedBy,
    closed: g.closed,
  };
}

/** Author keys of a document's peers, by peer id. */
export function authorsOf(peers: readonly { peer: string; user_id: string | null; share_link_id: string | null }[]): (peer: string) => string {
  const byPeer = new Map(peers.map((p) => [p.peer, authorKeyOf(p)]));
  return (peer) => byPeer.get(peer) ?? authorKeyOf(undefined);
}

/**
 * Groups the entries the stored versions do not cover yet (of `entries`, those up to
 * `throughSeq`) and stores them. Runs inside the caller's transaction, under the history lock.
 * Returns every stored group, in order.
 */
export async function storeVersions(trx: Transaction<Database>, docId: string, entries: readonly LogEntry[], throughSeq: number): Promise<VersionGroup[]> {
  await lockHistory(trx, docId);
  const rows = await readVersionRows(trx, docId);
  const indexed = rows.at(-1)?.last_seq ?? 0;
  const fresh = entries.filter((e) => e.seq > indexed && e.seq <= throughSeq);
  const groups = rows.map(groupOfRow);
  // History folded into a snapshot before versions were kept: one version, the snapshot's.
  const legacy = await readSnapshotBefore(trx, docId, indexed, fresh[0]?.seq ?? throughSeq);
  if (legacy) {
    const version = Object.fromEntries(decodeImportBlobMeta(legacy.bytes, false).partialEndVersionVector.toJSON());
    const ops = Object.values(version).reduce((n, c) => n + c, 0);
    groups.push({ firstSeq: indexed + 1, lastSeq: legacy.seq, startedAt: legacy.at, endedAt: legacy.at, authors: [UNKNOWN_AUTHOR], ops, version, name: null, namedBy: null, closed: true });
    await saveVersionRows(trx, [rowOfGroup(docId, groups.at(-1)!)]);
  }
  if (fresh.length === 0) return groups;
  const last = groups.pop() ?? null;
  const folded = foldEntries(last, fresh.map(entryMetaOf), authorsOf(await readPeers(trx, docId)));
  await saveVersionRows(
    trx,
    folded.map((g) => rowOfGroup(docId, g)),
  );
  return [...groups, ...folded];
}

/**
 * Stores the groups up to the head and lets `change` edit the last one (naming it, closing it).
 * Returns the stored groups, or null when the document has no history yet.
 */
export async function updateLastVersion(db: Kysely<Database>, docId: string, change: (last: VersionGroup) => void): Promise<VersionGroup[] | null> {
  return db.transaction().execute(async (trx) => {
    await lockHistory(trx, docId);
    const rows = await readVersionRows(trx, docId);
    const log = await readLogAfter(trx, docId, rows.at(-1)?.last_seq ?? 0);
    const groups = await storeVersions(trx, docId, log, Number.MAX_SAFE_INTEGER);
    const last = groups.at(-1);
    if (!last) return null;
    change(last);
    await saveVersionRows(trx, [rowOfGroup(docId, last)]);
    return groups;
  });
}

/**
 * Where retention cuts: the last version that ended before `cutoff` (never the latest one),
 * counting the versions the entries being compacted will make. Null: nothing to trim.
 */
export async function trimPoint(db: Kysely<Database>, docId: string, entries: readonly LogEntry[], cutoff: number): Promise<VersionGroup | null> {
  const rows = await readVersionRows(db, docId);
  const groups = rows.map(groupOfRow);
  const indexed = groups.at(-1)?.lastSeq ?? 0;
  const last = groups.pop() ?? null;
  const all = [...groups, ...foldEntries(last, entries.filter((e) => e.seq > indexed).map(entryMetaOf), authorsOf(await readPeers(db, docId)))];
  const old = all.slice(0, -1).filter((g) => g.endedAt.getTime() < cutoff && g.version !== null);
  const point = old.at(-1);
  // Already trimmed there: nothing new to fold.
  if (!point || (all[0]!.lastSeq === point.lastSeq && all[0]!.name?.startsWith(TRIMMED))) return null;
  return point;
}

const TRIMMED = 'Earlier history, trimmed';

/**
 * Folds the stored versions up to `point` into one: the state there is all a shallow snapshot
 * keeps of them. Runs in the compaction's transaction, after `storeVersions`.
 */
export async function trimVersions(trx: Transaction<Database>, docId: string, point: VersionGroup): Promise<void> {
  const rows = (await readVersionRows(trx, docId)).map(groupOfRow).filter((g) => g.lastSeq <= point.lastSeq);
  if (rows.length === 0) return;
  await deleteVersionsThrough(trx, docId, point.lastSeq);
  const merged: VersionGroup = {
    firstSeq: rows[0]!.firstSeq,
    lastSeq: point.lastSeq,
    startedAt: rows[0]!.startedAt,
    endedAt: point.endedAt,
    authors: [...new Set(rows.flatMap((g) => g.authors))].sort(),
    ops: rows.reduce((n, g) => n + g.ops, 0),
    version: point.version,
    name: `${TRIMMED} (until ${point.endedAt.toISOString().slice(0, 10)})`,
    namedBy: null,
    closed: true,
  };
  await saveVersionRows(trx, [rowOfGroup(docId, merged)]);
}

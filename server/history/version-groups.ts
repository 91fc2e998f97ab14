/**
 * The version history as people see it: consecutive log entries by the same people, a few
 * minutes apart at most, grouped into one version (as Google Docs groups its history). Built
 * from each entry's commit time and its Loro update headers (peers and counter ranges), never
 * by replaying the document; the version a group ends at is kept as a version vector, which is
 * all it takes to open it later.
 */
import { decodeImportBlobMeta } from 'loro-crdt';

/** Entries further apart than this start a new version. */
export const GROUP_GAP_MS = 5 * 60_000;

/** Who wrote: `user:<id>`, `link:<id>` (anonymous through a share link) or `unknown`. */
export type AuthorKey = string;
export const UNKNOWN_AUTHOR: AuthorKey = 'unknown';

/** A version vector as JSON: peer id (decimal) → the counter after its last op. */
export type VersionJson = Record<string, number>;

/** What grouping needs of one log entry. */
export interface EntryMeta {
  seq: number;
  at: Date;
  /** Per peer, the counter range [start, end) of the ops its updates hold. */
  spans: Map<string, [number, number]>;
}

export interface VersionGroup {
  firstSeq: number;
  lastSeq: number;
  startedAt: Date;
  endedAt: Date;
  /** Sorted author keys. */
  authors: AuthorKey[];
  /** Loro operations the group added (characters inserted and deleted, marks). */
  ops: number;
  /** The version after `lastSeq` (null: the snapshot's own, for history compacted before it was kept). */
  version: VersionJson | null;
  name: string | null;
  namedBy: string | null;
  /** Never extended: later entries start a new group (a named version is closed). */
  closed: boolean;
}

/** The peers and counter ranges of a log entry's updates, read from their headers. */
export function entryMetaOf(entry: { seq: number; at?: Date | undefined; updates: readonly Uint8Array[] }): EntryMeta {
  const spans = new Map<string, [number, number]>();
  for (const update of entry.updates) {
    const meta = decodeImportBlobMeta(update, false);
    const start = meta.partialStartVersionVector.toJSON();
    for (const [peer, end] of meta.partialEndVersionVector.toJSON()) {
      const from = start.get(peer) ?? 0;
      const known = spans.get(peer);
      spans.set(peer, known ? [Math.min(known[0], from), Math.max(known[1], end)] : [from, end]);
    }
  }
  return { seq: entry.seq, at: entry.at ?? new Date(), spans };
}

/**
 * Folds entries (in seq order, after `last.lastSeq`) into groups. Returns `last` (extended, or
 * as it was) followed by the new groups; `last` may be null (no history yet).
 */
export function foldEntries(last: VersionGroup | null, entries: readonly EntryMeta[], authorOf: (peer: string) => AuthorKey, gapMs = GROUP_GAP_MS): VersionGroup[] {
  const groups: VersionGroup[] = last ? [{ ...last, authors: [...last.authors], version: last.version ? { ...last.version } : null }] : [];
  let version: VersionJson = { ...(last?.version ?? {}) };
  for (const entry of entries) {
    let ops = 0;
    const writers = new Set<AuthorKey>();
    for (const [peer, [start, end]] of entry.spans) {
      const added = end - Math.max(start, version[peer] ?? 0);
      if (added > 0) {
        ops += added;
        writers.add(authorOf(peer));
      }
      if (end > (version[peer] ?? 0)) version = { ...version, [peer]: end };
    }
    // A pure duplicate (a resend stored as sent) adds nothing: the version stays as it was.
    if (ops === 0 && groups.length > 0) {
      groups.at(-1)!.lastSeq = entry.seq;
      continue;
    }
    const current = groups.at(-1);
    const authors = [...writers].sort();
    if (current && !current.closed && entry.at.getTime() - current.endedAt.getTime() <= gapMs && authors.every((a) => current.authors.includes(a))) {
      current.lastSeq = entry.seq;
      current.endedAt = entry.at;
      current.ops += ops;
      current.version = version;
    } else {
      groups.push({ firstSeq: entry.seq, lastSeq: entry.seq, startedAt: entry.at, endedAt: entry.at, authors, ops, version, name: null, namedBy: null, closed: false });
    }
  }
  return groups;
}

/** The author key of a peer attribution row. */
export function authorKeyOf(row: { user_id: string | null; share_link_id: string | null } | undefined): AuthorKey {
  if (row?.user_id) return `user:${row.user_id}`;
  if (row?.share_link_id) return `link:${row.share_link_id}`;
  return UNKNOWN_AUTHOR;
}

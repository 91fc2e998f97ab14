import type { ColumnType, Selectable } from 'kysely';

/**
 * A stored group of the version history: log entries `first_seq..last_seq`, consecutive and by
 * the same people. Written when compaction folds the entries (their times would be lost) or
 * when a version is named; the log after the last row is grouped when read.
 */
export interface DocVersionsTable {
  doc_id: string;
  first_seq: number;
  last_seq: number;
  started_at: Date;
  ended_at: Date;
  /** JSON array of sorted author keys. */
  authors: string;
  ops: number;
  /** JSON {peer: counter} after `last_seq`; null: the version of the snapshot at `last_seq`. */
  version: string | null;
  name: string | null;
  named_by: string | null;
  closed: ColumnType<boolean, boolean | undefined, boolean>;
}

export type DocVersionRow = Selectable<DocVersionsTable>;

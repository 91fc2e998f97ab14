import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** One collaborative document. Its row is also the per-document lock of the update log. */
export interface DocumentsTable {
  id: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Sequence number of the last update appended to `doc_updates` (0 = none yet). */
  head_seq: Generated<number>;
  /** Set while one node compacts the document; a lease, so a crashed compactor expires. */
  compacting_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Soft delete (restorable by an admin for 30 days). */
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** Null once the owner's account is deleted. */
  owner_id: ColumnType<string | null, string | null | undefined, string | null>;
  title: Generated<string>;
  /** The page and field the document was started from (for "open where it was written"). */
  origin_url: ColumnType<string | null, string | null | undefined, string | null>;
  origin_field: ColumnType<string | null, string | null | undefined, string | null>;
}

export type DocumentRow = Selectable<DocumentsTable>;
export type NewDocument = Insertable<DocumentsTable>;

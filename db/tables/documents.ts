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
  /** Soft delete. */
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type DocumentRow = Selectable<DocumentsTable>;
export type NewDocument = Insertable<DocumentsTable>;

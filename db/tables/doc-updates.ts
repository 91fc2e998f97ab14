import type { Generated, Selectable } from 'kysely';

/** The append-only update log: `seq` is gap-free per document and in commit order. */
export interface DocUpdatesTable {
  doc_id: string;
  seq: number;
  /** One Loro update, exactly as the client sent it. */
  bytes: Uint8Array;
  created_at: Generated<Date>;
}

export type DocUpdateRow = Selectable<DocUpdatesTable>;

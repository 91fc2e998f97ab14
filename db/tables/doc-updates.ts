import type { Generated, Selectable } from 'kysely';

/**
 * The append-only update log: one row per group commit. `seq` is gap-free per document and
 * in commit order.
 */
export interface DocUpdatesTable {
  doc_id: string;
  seq: number;
  /** The updates committed together, exactly as clients sent them (see `update-batch.ts`). */
  updates: Uint8Array;
  update_count: number;
  created_at: Generated<Date>;
}

export type DocUpdateRow = Selectable<DocUpdatesTable>;

import type { Generated, Selectable } from 'kysely';

/** The latest Loro snapshot of a document, covering every update with `seq <= seq`. */
export interface DocSnapshotsTable {
  doc_id: string;
  seq: number;
  bytes: Uint8Array;
  /** Updates still waiting for their causal dependencies (Loro snapshots leave them out). */
  pending: Uint8Array | null;
  /** UTF-8 bytes of the text at the snapshot; null when it was made before this was measured. */
  text_bytes: number | null;
  created_at: Generated<Date>;
}

export type DocSnapshotRow = Selectable<DocSnapshotsTable>;

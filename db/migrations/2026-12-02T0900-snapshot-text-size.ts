// Frozen: never edit a migration that has shipped; add a new one.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // UTF-8 bytes of the document's text at the snapshot (measured by compaction): the base of
  // the per-document text limit. Null for snapshots made before it was measured.
  await db.schema.alterTable('doc_snapshots').addColumn('text_bytes', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('doc_snapshots').dropColumn('text_bytes').execute();
}

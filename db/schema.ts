import type { DocSnapshotsTable } from './tables/doc-snapshots';
import type { DocUpdatesTable } from './tables/doc-updates';
import type { DocumentsTable } from './tables/documents';

/** Every table, as Kysely sees them. */
export interface Database {
  documents: DocumentsTable;
  doc_updates: DocUpdatesTable;
  doc_snapshots: DocSnapshotsTable;
}

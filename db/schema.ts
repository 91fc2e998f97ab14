import type { AccessTokensTable } from './tables/access-tokens';
import type { AuditLogTable } from './tables/audit-log';
import type { DocPeersTable } from './tables/doc-peers';
import type { DocSnapshotsTable } from './tables/doc-snapshots';
import type { DocUpdatesTable } from './tables/doc-updates';
import type { DocVersionsTable } from './tables/doc-versions';
import type { DocumentMembersTable } from './tables/document-members';
import type { DocumentsTable } from './tables/documents';
import type { LoginFailuresTable } from './tables/login-failures';
import type { SessionsTable } from './tables/sessions';
import type { ShareLinksTable } from './tables/share-links';
import type { SyncTicketsTable } from './tables/sync-tickets';
import type { UsersTable } from './tables/users';

/** Every table, as Kysely sees them. */
export interface Database {
  documents: DocumentsTable;
  doc_updates: DocUpdatesTable;
  doc_snapshots: DocSnapshotsTable;
  doc_peers: DocPeersTable;
  doc_versions: DocVersionsTable;
  users: UsersTable;
  sessions: SessionsTable;
  access_tokens: AccessTokensTable;
  sync_tickets: SyncTicketsTable;
  document_members: DocumentMembersTable;
  share_links: ShareLinksTable;
  login_failures: LoginFailuresTable;
  audit_log: AuditLogTable;
}

import type { Generated, Selectable } from 'kysely';

export type DocumentRole = 'owner' | 'editor' | 'viewer';

export interface DocumentMembersTable {
  doc_id: string;
  user_id: string;
  role: DocumentRole;
  created_at: Generated<Date>;
}

export type DocumentMemberRow = Selectable<DocumentMembersTable>;

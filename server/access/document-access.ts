/**
 * Who may read or write a document: its members (owner, editor, viewer) and holders of its
 * share links (view or edit), capped by the scopes of a personal access token. One function
 * decides for REST and for sync, so the two can never disagree.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import type { DocumentRole } from '../../db/tables/document-members';
import type { LinkAccess } from '../../db/tables/share-links';
import { hasScope, type Principal } from '../auth/principal';
import { hashSecret } from '../auth/secrets';

export type Permission = 'read' | 'write';

export interface AccessDecision {
  /** Null: the document does not exist, is deleted, or this principal may not see it. */
  permission: Permission | null;
  role: DocumentRole | null;
  link: LinkAccess | null;
}

const none: AccessDecision = { permission: null, role: null, link: null };

/** Share tokens travel in links as `…/d/<docId>#<token>`. */
export const SHARE_TOKEN = /^sh_[a-z2-7]{32}$/;

export async function decideDocumentAccess(
  db: Kysely<Database>,
  principal: Principal,
  docId: string,
  shareToken?: string | null,
): Promise<AccessDecision> {
  const doc = await db.selectFrom('documents').select('id').where('id', '=', docId).where('deleted_at', 'is', null).executeTakeFirst();
  if (!doc) return none;
  let role: DocumentRole | null = null;
  if (principal.kind === 'user') {
    const member = await db
      .selectFrom('document_members')
      .select('role')
      .where('doc_id', '=', docId)
      .where('user_id', '=', principal.user.id)
      .executeTakeFirst();
    role = member?.role ?? null;
  }
  let link: LinkAccess | null = null;
  if (shareToken && SHARE_TOKEN.test(shareToken)) {
    const row = await db
      .selectFrom('share_links')
      .select('access')
      .where('token_hash', '=', hashSecret(shareToken))
      .where('doc_id', '=', docId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    link = row?.access ?? null;
  }
  let permission: Permission | null =
    role === 'owner' || role === 'editor' || link === 'edit' ? 'write' : role === 'viewer' || link === 'view' ? 'read' : null;
  // A token acts only within its scopes; sessions (and anonymous link holders) are not capped.
  if (principal.kind === 'user' && principal.via.kind === 'token') {
    if (permission === 'write' && !hasScope(principal, 'write')) permission = 'read';
    if (permission === 'read' && !hasScope(principal, 'read') && !hasScope(principal, 'write')) permission = null;
  }
  return { permission, role, link };
}

export const canManage = (decision: AccessDecision): boolean => decision.role === 'owner';

/**
 * Who may read or write a document: its members (owner, editor, viewer) and holders of its
 * share links (view or edit), capped by the scopes of a personal access token. One function
 * decides for REST and for sync, so the two can never disagree.
 */
import type { Kysely } from 'kysely';
import { findLiveDocument, findMemberRole } from '../../db/repositories/documents';
import { findLinkAccess } from '../../db/repositories/share-links';
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
  /** The share link that was used (whatever it gave), for attributing what a link holder writes. */
  linkId: string | null;
}

const none: AccessDecision = { permission: null, role: null, link: null, linkId: null };

/** Share tokens travel in links as `…/d/<docId>#<token>`. */
export const SHARE_TOKEN = /^sh_[a-z2-7]{32}$/;

export async function decideDocumentAccess(db: Kysely<Database>, principal: Principal, docId: string, shareToken?: string | null): Promise<AccessDecision> {
  if (!(await findLiveDocument(db, docId))) return none;
  const role: DocumentRole | null = principal.kind === 'user' ? await findMemberRole(db, docId, principal.user.id) : null;
  const found = shareToken && SHARE_TOKEN.test(shareToken) ? await findLinkAccess(db, docId, hashSecret(shareToken)) : null;
  const link: LinkAccess | null = found?.access ?? null;
  let permission: Permission | null = role === 'owner' || role === 'editor' || link === 'edit' ? 'write' : role === 'viewer' || link === 'view' ? 'read' : null;
  // A token acts only within its scopes; sessions (and anonymous link holders) are not capped.
  if (principal.kind === 'user' && principal.via.kind === 'token') {
    if (permission === 'write' && !hasScope(principal, 'write')) permission = 'read';
    if (permission === 'read' && !hasScope(principal, 'read') && !hasScope(principal, 'write')) permission = null;
  }
  return { permission, role, link, linkId: found?.id ?? null };
}

export const canManage = (decision: AccessDecision): boolean => decision.role === 'owner';

/**
 * The seam where a join is decided: who (the principal the upgrade established), which
 * document, with which join payload (a share token), gets which permission. Rooms enforce it.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import { decodeJoinAuth, type CrdtType, type Permission } from '../../shared/protocol/index';
import { decideDocumentAccess } from '../access/document-access';
import type { Principal } from '../auth/principal';

export type { Principal };

export interface JoinRequestContext {
  principal: Principal;
  docId: string;
  crdt: CrdtType;
  /** The JoinRequest's application-defined payload. */
  auth: Uint8Array;
}

export type JoinDecision =
  /** `linkId`: the share link the join came through, if any (who an anonymous writer is). */
  { ok: true; permission: Permission; linkId?: string | null } | { ok: false; reason: 'not_found' | 'auth_failed'; message: string };

export interface JoinAuthorizer {
  authorizeJoin(request: JoinRequestContext): Promise<JoinDecision>;
}

/**
 * Members by role, link holders by the link's access, tokens within their scopes. A document
 * the principal may not see answers exactly like one that does not exist.
 */
export class DocumentAuthorizer implements JoinAuthorizer {
  constructor(private readonly db: Kysely<Database>) {}

  async authorizeJoin({ principal, docId, auth }: JoinRequestContext): Promise<JoinDecision> {
    const payload = decodeJoinAuth(auth);
    if (!payload) return { ok: false, reason: 'auth_failed', message: 'the join payload is not {"v":1,"share":…}' };
    const decision = await decideDocumentAccess(this.db, principal, docId, payload.share ?? null);
    if (!decision.permission) return { ok: false, reason: 'not_found', message: 'no such document' };
    return { ok: true, permission: decision.permission, linkId: decision.linkId };
  }
}

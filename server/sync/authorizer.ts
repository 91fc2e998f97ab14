/**
 * The seam where a join is decided: who (the principal the upgrade authenticated), which
 * document, with which join payload, gets which permission. Rooms enforce the permission.
 */
import type { Kysely } from 'kysely';
import { findLiveDocument } from '../../db/repositories/documents';
import type { Database } from '../../db/schema';
import type { CrdtType, Permission } from '../../shared/protocol/index';

/** Who is on the other end of a socket, as established at upgrade. */
export type Principal = { kind: 'anonymous' };

export interface JoinRequestContext {
  principal: Principal;
  docId: string;
  crdt: CrdtType;
  /** The JoinRequest's application-defined payload. */
  auth: Uint8Array;
}

export type JoinDecision =
  | { ok: true; permission: Permission }
  | { ok: false; reason: 'not_found' | 'auth_failed'; message: string };

export interface JoinAuthorizer {
  authorizeJoin(request: JoinRequestContext): Promise<JoinDecision>;
}

/**
 * Until accounts exist (the auth issue), anyone may read and write any existing document.
 * Throws (transient database errors) are reported to the client as `unavailable`.
 */
export class OpenAuthorizer implements JoinAuthorizer {
  constructor(private readonly db: Kysely<Database>) {}

  async authorizeJoin({ docId }: JoinRequestContext): Promise<JoinDecision> {
    const doc = await findLiveDocument(this.db, docId);
    if (!doc) return { ok: false, reason: 'not_found', message: 'no such document' };
    return { ok: true, permission: 'write' };
  }
}

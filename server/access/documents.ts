/** Documents as people and administrators manage them: metadata, members, share links. */
import type { Kysely, Transaction } from 'kysely';
import { LoroDoc } from 'loro-crdt';
import { recordAudit } from '../../db/repositories/audit';
import { appendLogEntry, documentParts, loadStoredDocument, type PeerAttribution } from '../../db/repositories/doc-log';
import {
  countOwnedDocuments,
  deleteMember,
  findMemberRole,
  getDocument,
  insertOwnedDocument,
  listMemberDocuments,
  listMembers,
  listMembersOf,
  restoreDocument,
  searchDocumentsForAdmin,
  setDocumentTitle,
  softDeleteDocument,
  upsertMember,
} from '../../db/repositories/documents';
import { countActiveLinksBy, findActiveLinkAccess, insertShareLink, listShareLinks, revokeShareLink } from '../../db/repositories/share-links';
import { findUserByEmail, lockUser } from '../../db/repositories/users';
import type { Database } from '../../db/schema';
import type { DocumentRole } from '../../db/tables/document-members';
import type { DocumentRow } from '../../db/tables/documents';
import type { LinkAccess } from '../../db/tables/share-links';
import { newDocumentId } from '../../shared/ids';
import { TEXT_CONTAINER } from '../../shared/document';
import type { AccessEventBus } from '../auth/access-events';
import type { Quotas } from '../config';
import type { Principal } from '../auth/principal';
import { hashSecret, randomId, randomSecret } from '../auth/secrets';
import { DomainError, HeavyWorkTimeout } from '../errors';
import { decideDocumentAccess, type AccessDecision } from './document-access';

/** Deleted documents can be restored by an admin for this long. */
export const RESTORE_WINDOW_MS = 30 * 24 * 3600 * 1000;

const notFound = (): DomainError => new DomainError('not_found', 'no such document');

export interface DocumentView {
  id: string;
  title: string;
  role: DocumentRole | null;
  permission: 'read' | 'write';
  ownerId: string | null;
  originUrl: string | null;
  originField: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ShareLinkView {
  id: string;
  access: LinkAccess;
  createdAt: string;
  revoked: boolean;
}

export class DocumentService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: AccessEventBus,
    private readonly limits: {
      quotas: Readonly<Quotas>;
      /** Text a document may hold (TANDEM_MAX_DOCUMENT_TEXT_BYTES). */
      maxDocumentTextBytes: number;
      /** Where text exports run: the heavy-work thread, with its time budget (rejects with HeavyWorkTimeout). */
      heavy: { text(parts: Uint8Array[]): Promise<string> };
    },
  ) {}

  /**
   * Holds the owner's row lock for the rest of `trx`, so concurrent creations by one account
   * count one after the other, and refuses with 403 `quota_exceeded` when `count` has reached
   * `limit`.
   */
  private async withinQuota(trx: Transaction<Database>, ownerId: string, what: string, limit: number, count: () => Promise<number>): Promise<void> {
    await lockUser(trx, ownerId);
    if ((await count()) >= limit) throw new DomainError('quota_exceeded', `an account may have at most ${limit} ${what}`);
  }

  /** Creates a document owned by `ownerId`, starting from `text`. */
  async create(ownerId: string, input: { title: string; text: string; originUrl?: string | undefined; originField?: string | undefined }): Promise<DocumentView> {
    if (Buffer.byteLength(input.text, 'utf8') > this.limits.maxDocumentTextBytes) {
      throw new DomainError('document_too_large', `a document may hold at most ${this.limits.maxDocumentTextBytes} bytes of text`);
    }
    let initial: { update: Uint8Array; peers: PeerAttribution[] } | null = null;
    if (input.text.length > 0) {
      const doc = new LoroDoc();
      doc.getText(TEXT_CONTAINER).insert(0, input.text);
      doc.commit();
      initial = { update: doc.export({ mode: 'update' }), peers: [{ peer: doc.peerIdStr, userId: ownerId, linkId: null }] };
      doc.free();
    }
    return this.createWith(ownerId, input, initial);
  }

  /**
   * Creates a document owned by `ownerId` whose log starts with `initial` (an update or a Loro
   * snapshot, already checked), attributed to `initial.peers`.
   */
  async createWith(
    ownerId: string,
    input: { title: string; originUrl?: string | undefined; originField?: string | undefined },
    initial: { update: Uint8Array; peers: PeerAttribution[] } | null,
  ): Promise<DocumentView> {
    const id = newDocumentId();
    const row = await this.db.transaction().execute(async (trx) => {
      await this.withinQuota(trx, ownerId, 'documents', this.limits.quotas.documentsPerAccount, () => countOwnedDocuments(trx, ownerId));
      const inserted = await insertOwnedDocument(trx, { id, ownerId, title: input.title, originUrl: input.originUrl ?? null, originField: input.originField ?? null });
      await upsertMember(trx, id, ownerId, 'owner');
      if (initial) await appendLogEntry(trx, id, [initial.update], initial.peers);
      return inserted;
    });
    return toView(row, { role: 'owner', permission: 'write', link: null, linkId: null });
  }

  /** The document as `principal` may see it; 404 when it may not (whether or not it exists). */
  async view(principal: Principal, docId: string, shareToken?: string | null): Promise<DocumentView> {
    const decision = await this.decide(principal, docId, shareToken);
    return toView(await getDocument(this.db, docId), decision);
  }

  /** Access to a document, or 404 (also when the principal may not see it: ids do not leak). */
  async decide(principal: Principal, docId: string, shareToken?: string | null): Promise<AccessDecision> {
    const decision = await decideDocumentAccess(this.db, principal, docId, shareToken);
    if (!decision.permission) throw notFound();
    return decision;
  }

  private async requireOwner(principal: Principal, docId: string): Promise<string> {
    const decision = await this.decide(principal, docId);
    if (decision.role !== 'owner' || principal.kind !== 'user') throw new DomainError('forbidden', 'only the owner may do this');
    return principal.user.id;
  }

  async listFor(userId: string): Promise<DocumentView[]> {
    const rows = await listMemberDocuments(this.db, userId);
    return rows.map((r) => toView(r, { role: r.role, permission: r.role === 'viewer' ? 'read' : 'write', link: null, linkId: null }));
  }

  async rename(principal: Principal, docId: string, title: string): Promise<DocumentView> {
    const decision = await this.decide(principal, docId);
    if (decision.permission !== 'write') throw new DomainError('forbidden', 'viewers may not rename');
    await setDocumentTitle(this.db, docId, title);
    return this.view(principal, docId);
  }

  /** Soft-deletes: sockets are evicted, an admin can restore it for 30 days. */
  async delete(actorId: string, docId: string): Promise<void> {
    if (!(await softDeleteDocument(this.db, docId))) throw notFound();
    await recordAudit(this.db, { actorId, action: 'document.deleted', targetType: 'document', targetId: docId });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  async deleteAsOwner(principal: Principal, docId: string): Promise<void> {
    await this.delete(await this.requireOwner(principal, docId), docId);
  }

  async restore(actorId: string, docId: string): Promise<void> {
    if (!(await restoreDocument(this.db, docId, new Date(Date.now() - RESTORE_WINDOW_MS)))) throw new DomainError('not_found', 'no deleted document with this id (or deleted over 30 days ago)');
    await recordAudit(this.db, { actorId, action: 'document.restored', targetType: 'document', targetId: docId });
  }

  // Members

  async members(principal: Principal, docId: string): Promise<{ userId: string; email: string; displayName: string; role: DocumentRole }[]> {
    await this.decide(principal, docId);
    const rows = await listMembers(this.db, docId);
    return rows.map((r) => ({ userId: r.id, email: r.email, displayName: r.display_name, role: r.role }));
  }

  /** Adds a member by email, or changes their role. */
  async setMember(principal: Principal, docId: string, email: string, role: 'editor' | 'viewer'): Promise<{ userId: string; role: DocumentRole }> {
    const actorId = await this.requireOwner(principal, docId);
    const user = await findUserByEmail(this.db, email.toLowerCase());
    if (!user) throw new DomainError('user_not_found', 'no account with this email');
    if (user.id === actorId) throw new DomainError('owner_role', 'the owner stays the owner');
    const previous = await findMemberRole(this.db, docId, user.id);
    await upsertMember(this.db, docId, user.id, role);
    await recordAudit(this.db, {
      actorId,
      action: previous ? 'member.role_changed' : 'member.added',
      targetType: 'document',
      targetId: docId,
      details: { userId: user.id, role, previous },
    });
    if (previous && previous !== role) this.events.publish({ type: 'document_access_changed', docId });
    return { userId: user.id, role };
  }

  /** Removes a member (the owner may remove anyone but themselves; a member may leave). */
  async removeMember(principal: Principal, docId: string, userId: string): Promise<void> {
    if (principal.kind !== 'user') throw notFound();
    const decision = await this.decide(principal, docId);
    const self = principal.user.id === userId;
    if (!self && decision.role !== 'owner') throw new DomainError('forbidden', 'only the owner may remove others');
    if (self && decision.role === 'owner') throw new DomainError('owner_role', 'the owner cannot leave their document');
    if ((await deleteMember(this.db, docId, userId)) === 0) throw new DomainError('not_found', 'no such member');
    await recordAudit(this.db, { actorId: principal.user.id, action: 'member.removed', targetType: 'document', targetId: docId, details: { userId } });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  // Share links

  async links(principal: Principal, docId: string): Promise<ShareLinkView[]> {
    await this.requireOwner(principal, docId);
    const rows = await listShareLinks(this.db, docId);
    return rows.map((r) => ({ id: r.id, access: r.access, createdAt: r.created_at.toISOString(), revoked: r.revoked_at !== null }));
  }

  /** Creates a link; its token is returned this once (only its hash is kept). */
  async createLink(principal: Principal, docId: string, access: LinkAccess): Promise<ShareLinkView & { token: string }> {
    const actorId = await this.requireOwner(principal, docId);
    const token = `sh_${randomSecret()}`;
    const row = await this.db.transaction().execute(async (trx) => {
      await this.withinQuota(trx, actorId, 'active share links', this.limits.quotas.linksPerAccount, () => countActiveLinksBy(trx, actorId));
      return insertShareLink(trx, { id: randomId(), docId, tokenHash: hashSecret(token), access, createdBy: actorId });
    });
    await recordAudit(this.db, { actorId, action: 'link.created', targetType: 'share_link', targetId: row.id, details: { docId, access } });
    return { id: row.id, access, createdAt: row.created_at.toISOString(), revoked: false, token };
  }

  async revokeLink(principal: Principal, docId: string, linkId: string): Promise<void> {
    const actorId = await this.requireOwner(principal, docId);
    if (!(await revokeShareLink(this.db, docId, linkId))) throw new DomainError('not_found', 'no such active link');
    await recordAudit(this.db, { actorId, action: 'link.revoked', targetType: 'share_link', targetId: linkId, details: { docId } });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  /** Revokes a link and creates one with the same access: the old URL stops working. */
  async rotateLink(principal: Principal, docId: string, linkId: string): Promise<ShareLinkView & { token: string }> {
    const access = await findActiveLinkAccess(this.db, docId, linkId);
    if (!access) {
      await this.requireOwner(principal, docId);
      throw new DomainError('not_found', 'no such active link');
    }
    await this.revokeLink(principal, docId, linkId);
    return this.createLink(principal, docId, access);
  }

  // Content and administration

  /**
   * The document's text as stored (every acknowledged update is stored), made in the
   * heavy-work thread: on the event loop, one export of a huge document stalled the node.
   */
  async text(docId: string): Promise<string> {
    const stored = await loadStoredDocument(this.db, docId);
    try {
      return await this.limits.heavy.text(documentParts(stored));
    } catch (error) {
      if (error instanceof HeavyWorkTimeout) throw new DomainError('export_timeout', `exporting this document took longer than ${error.budgetMs} ms`, 60);
      throw error;
    }
  }

  /** Documents matching `query` (id or title), with storage figures and members, for admins. */
  async adminSearch(filter: { query?: string | undefined; deleted?: boolean | undefined; limit: number; offset: number }): Promise<AdminDocumentView[]> {
    const rows = await searchDocumentsForAdmin(this.db, filter);
    const members = await listMembersOf(
      this.db,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      title: r.title,
      ownerId: r.owner_id,
      ownerEmail: r.owner_email,
      createdAt: r.created_at.toISOString(),
      lastActivity: r.updated_at.toISOString(),
      deletedAt: r.deleted_at?.toISOString() ?? null,
      commits: r.head_seq,
      logUpdates: Number(r.log_updates ?? 0),
      sizeBytes: Number(r.log_bytes ?? 0) + Number(r.snapshot_bytes ?? 0),
      members: members.filter((m) => m.doc_id === r.id).map((m) => ({ userId: m.id, email: m.email, role: m.role })),
    }));
  }
}

function toView(row: DocumentRow, decision: AccessDecision): DocumentView {
  return {
    id: row.id,
    title: row.title,
    role: decision.role,
    permission: decision.permission ?? 'read',
    ownerId: row.owner_id,
    // Rows written before http(s) was required may hold another scheme: never hand it out.
    originUrl: row.origin_url && /^https?:\/\//i.test(row.origin_url) ? row.origin_url : null,
    originField: row.origin_field,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface AdminDocumentView {
  id: string;
  title: string;
  ownerId: string | null;
  ownerEmail: string | null;
  createdAt: string;
  lastActivity: string;
  deletedAt: string | null;
  /** Log entries ever written (group commits). */
  commits: number;
  /** Updates in the log since the last snapshot. */
  logUpdates: number;
  /** Snapshot plus log, in bytes. */
  sizeBytes: number;
  members: { userId: string; email: string; role: DocumentRole }[];
}

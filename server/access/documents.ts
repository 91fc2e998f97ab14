/** Documents as people and administrators manage them: metadata, members, share links. */
import { sql, type Kysely } from 'kysely';
import { LoroDoc } from 'loro-crdt';
import { recordAudit } from '../../db/repositories/audit';
import { appendLogEntry, loadStoredDocument } from '../../db/repositories/doc-log';
import { findUserByEmail } from '../../db/repositories/users';
import type { Database } from '../../db/schema';
import type { DocumentRole } from '../../db/tables/document-members';
import type { DocumentRow } from '../../db/tables/documents';
import type { LinkAccess } from '../../db/tables/share-links';
import { newDocumentId } from '../../shared/ids';
import { TEXT_CONTAINER } from '../../shared/document';
import type { AccessEventBus } from '../auth/access-events';
import type { Principal } from '../auth/principal';
import { hashSecret, randomId, randomSecret } from '../auth/secrets';
import { HttpError } from '../http/http-error';
import { documentParts } from '../sync/doc-store';
import { decideDocumentAccess, type AccessDecision } from './document-access';

/** Deleted documents can be restored by an admin for this long. */
export const RESTORE_WINDOW_MS = 30 * 24 * 3600 * 1000;

const notFound = (): HttpError => new HttpError(404, 'not_found', 'no such document');

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
  ) {}

  /** Creates a document owned by `ownerId`, starting from `text`. */
  async create(ownerId: string, input: { title: string; text: string; originUrl?: string | undefined; originField?: string | undefined }): Promise<DocumentView> {
    const id = newDocumentId();
    let initial: Uint8Array | null = null;
    if (input.text.length > 0) {
      const doc = new LoroDoc();
      doc.getText(TEXT_CONTAINER).insert(0, input.text);
      doc.commit();
      initial = doc.export({ mode: 'update' });
      doc.free();
    }
    const row = await this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('documents')
        .values({ id, owner_id: ownerId, title: input.title, origin_url: input.originUrl ?? null, origin_field: input.originField ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.insertInto('document_members').values({ doc_id: id, user_id: ownerId, role: 'owner' }).execute();
      if (initial) await appendLogEntry(trx, id, [initial]);
      return inserted;
    });
    return toView(row, { role: 'owner', permission: 'write', link: null });
  }

  /** The document as `principal` may see it; 404 when it may not (whether or not it exists). */
  async view(principal: Principal, docId: string, shareToken?: string | null): Promise<DocumentView> {
    const decision = await this.decide(principal, docId, shareToken);
    const row = await this.db.selectFrom('documents').selectAll().where('id', '=', docId).executeTakeFirstOrThrow();
    return toView(row, decision);
  }

  /** Access to a document, or 404 (also when the principal may not see it: ids do not leak). */
  async decide(principal: Principal, docId: string, shareToken?: string | null): Promise<AccessDecision> {
    const decision = await decideDocumentAccess(this.db, principal, docId, shareToken);
    if (!decision.permission) throw notFound();
    return decision;
  }

  private async requireOwner(principal: Principal, docId: string): Promise<string> {
    const decision = await this.decide(principal, docId);
    if (decision.role !== 'owner' || principal.kind !== 'user') throw new HttpError(403, 'forbidden', 'only the owner may do this');
    return principal.user.id;
  }

  async listFor(userId: string): Promise<DocumentView[]> {
    const rows = await this.db
      .selectFrom('documents')
      .innerJoin('document_members', 'document_members.doc_id', 'documents.id')
      .selectAll('documents')
      .select('document_members.role')
      .where('document_members.user_id', '=', userId)
      .where('documents.deleted_at', 'is', null)
      .orderBy('documents.updated_at', 'desc')
      .execute();
    return rows.map((r) => toView(r, { role: r.role, permission: r.role === 'viewer' ? 'read' : 'write', link: null }));
  }

  async rename(principal: Principal, docId: string, title: string): Promise<DocumentView> {
    const decision = await this.decide(principal, docId);
    if (decision.permission !== 'write') throw new HttpError(403, 'forbidden', 'viewers may not rename');
    await this.db.updateTable('documents').set({ title }).where('id', '=', docId).execute();
    return this.view(principal, docId);
  }

  /** Soft-deletes: sockets are evicted, an admin can restore it for 30 days. */
  async delete(actorId: string, docId: string): Promise<void> {
    const row = await this.db
      .updateTable('documents')
      .set({ deleted_at: new Date() })
      .where('id', '=', docId)
      .where('deleted_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw notFound();
    await recordAudit(this.db, { actorId, action: 'document.deleted', targetType: 'document', targetId: docId });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  async deleteAsOwner(principal: Principal, docId: string): Promise<void> {
    await this.delete(await this.requireOwner(principal, docId), docId);
  }

  async restore(actorId: string, docId: string): Promise<void> {
    const row = await this.db
      .updateTable('documents')
      .set({ deleted_at: null })
      .where('id', '=', docId)
      .where('deleted_at', '>', new Date(Date.now() - RESTORE_WINDOW_MS))
      .returning('id')
      .executeTakeFirst();
    if (!row) throw new HttpError(404, 'not_found', 'no deleted document with this id (or deleted over 30 days ago)');
    await recordAudit(this.db, { actorId, action: 'document.restored', targetType: 'document', targetId: docId });
  }

  // Members

  async members(principal: Principal, docId: string): Promise<{ userId: string; email: string; displayName: string; role: DocumentRole }[]> {
    await this.decide(principal, docId);
    const rows = await this.db
      .selectFrom('document_members')
      .innerJoin('users', 'users.id', 'document_members.user_id')
      .select(['users.id', 'users.email', 'users.display_name', 'document_members.role'])
      .where('doc_id', '=', docId)
      .orderBy('document_members.created_at')
      .execute();
    return rows.map((r) => ({ userId: r.id, email: r.email, displayName: r.display_name, role: r.role }));
  }

  /** Adds a member by email, or changes their role. */
  async setMember(principal: Principal, docId: string, email: string, role: 'editor' | 'viewer'): Promise<{ userId: string; role: DocumentRole }> {
    const actorId = await this.requireOwner(principal, docId);
    const user = await findUserByEmail(this.db, email.toLowerCase());
    if (!user) throw new HttpError(404, 'user_not_found', 'no account with this email');
    if (user.id === actorId) throw new HttpError(409, 'owner_role', 'the owner stays the owner');
    const previous = await this.db.selectFrom('document_members').select('role').where('doc_id', '=', docId).where('user_id', '=', user.id).executeTakeFirst();
    await this.db
      .insertInto('document_members')
      .values({ doc_id: docId, user_id: user.id, role })
      .onConflict((oc) => oc.columns(['doc_id', 'user_id']).doUpdateSet({ role }))
      .execute();
    await recordAudit(this.db, {
      actorId,
      action: previous ? 'member.role_changed' : 'member.added',
      targetType: 'document',
      targetId: docId,
      details: { userId: user.id, role, previous: previous?.role ?? null },
    });
    if (previous && previous.role !== role) this.events.publish({ type: 'document_access_changed', docId });
    return { userId: user.id, role };
  }

  /** Removes a member (the owner may remove anyone but themselves; a member may leave). */
  async removeMember(principal: Principal, docId: string, userId: string): Promise<void> {
    if (principal.kind !== 'user') throw notFound();
    const decision = await this.decide(principal, docId);
    const self = principal.user.id === userId;
    if (!self && decision.role !== 'owner') throw new HttpError(403, 'forbidden', 'only the owner may remove others');
    if (self && decision.role === 'owner') throw new HttpError(409, 'owner_role', 'the owner cannot leave their document');
    const result = await this.db.deleteFrom('document_members').where('doc_id', '=', docId).where('user_id', '=', userId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new HttpError(404, 'not_found', 'no such member');
    await recordAudit(this.db, { actorId: principal.user.id, action: 'member.removed', targetType: 'document', targetId: docId, details: { userId } });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  // Share links

  async links(principal: Principal, docId: string): Promise<ShareLinkView[]> {
    await this.requireOwner(principal, docId);
    const rows = await this.db.selectFrom('share_links').selectAll().where('doc_id', '=', docId).orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({ id: r.id, access: r.access, createdAt: r.created_at.toISOString(), revoked: r.revoked_at !== null }));
  }

  /** Creates a link; its token is returned this once (only its hash is kept). */
  async createLink(principal: Principal, docId: string, access: LinkAccess): Promise<ShareLinkView & { token: string }> {
    const actorId = await this.requireOwner(principal, docId);
    const token = `sh_${randomSecret()}`;
    const row = await this.db
      .insertInto('share_links')
      .values({ id: randomId(), doc_id: docId, token_hash: hashSecret(token), access, created_by: actorId })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(this.db, { actorId, action: 'link.created', targetType: 'share_link', targetId: row.id, details: { docId, access } });
    return { id: row.id, access, createdAt: row.created_at.toISOString(), revoked: false, token };
  }

  async revokeLink(principal: Principal, docId: string, linkId: string): Promise<void> {
    const actorId = await this.requireOwner(principal, docId);
    const row = await this.db
      .updateTable('share_links')
      .set({ revoked_at: new Date() })
      .where('id', '=', linkId)
      .where('doc_id', '=', docId)
      .where('revoked_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (!row) throw new HttpError(404, 'not_found', 'no such active link');
    await recordAudit(this.db, { actorId, action: 'link.revoked', targetType: 'share_link', targetId: linkId, details: { docId } });
    this.events.publish({ type: 'document_access_changed', docId });
  }

  /** Revokes a link and creates one with the same access: the old URL stops working. */
  async rotateLink(principal: Principal, docId: string, linkId: string): Promise<ShareLinkView & { token: string }> {
    const link = await this.db.selectFrom('share_links').select('access').where('id', '=', linkId).where('doc_id', '=', docId).where('revoked_at', 'is', null).executeTakeFirst();
    if (!link) {
      await this.requireOwner(principal, docId);
      throw new HttpError(404, 'not_found', 'no such active link');
    }
    await this.revokeLink(principal, docId, linkId);
    return this.createLink(principal, docId, link.access);
  }

  // Content and administration

  /** The document's text as stored (every acknowledged update is stored). */
  async text(docId: string): Promise<string> {
    const stored = await loadStoredDocument(this.db, docId);
    const doc = new LoroDoc();
    try {
      doc.importBatch(documentParts(stored));
      return doc.getText(TEXT_CONTAINER).toString();
    } finally {
      doc.free();
    }
  }

  /** Documents matching `query` (id or title), with storage figures and members, for admins. */
  async adminSearch(filter: { query?: string | undefined; deleted?: boolean | undefined; limit: number; offset: number }): Promise<AdminDocumentView[]> {
    let q = this.db
      .selectFrom('documents')
      .leftJoin('users', 'users.id', 'documents.owner_id')
      .select([
        'documents.id',
        'documents.title',
        'documents.owner_id',
        'users.email as owner_email',
        'documents.created_at',
        'documents.updated_at',
        'documents.deleted_at',
        'documents.head_seq',
        (eb) =>
          eb
            .selectFrom('doc_updates')
            .select(sql<number>`coalesce(sum(update_count), 0)::int8`.as('n'))
            .whereRef('doc_updates.doc_id', '=', 'documents.id')
            .as('log_updates'),
        (eb) =>
          eb
            .selectFrom('doc_updates')
            .select(sql<number>`coalesce(sum(length(updates)), 0)::int8`.as('n'))
            .whereRef('doc_updates.doc_id', '=', 'documents.id')
            .as('log_bytes'),
        (eb) => eb.selectFrom('doc_snapshots').select(sql<number>`length(bytes)::int8`.as('n')).whereRef('doc_snapshots.doc_id', '=', 'documents.id').as('snapshot_bytes'),
      ]);
    if (filter.query) {
      const like = `%${filter.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) => eb.or([eb('documents.id', '=', filter.query!), eb('documents.title', 'ilike', like)]));
    }
    q = filter.deleted ? q.where('documents.deleted_at', 'is not', null) : q.where('documents.deleted_at', 'is', null);
    const rows = await q.orderBy('documents.updated_at', 'desc').limit(filter.limit).offset(filter.offset).execute();
    const members = rows.length
      ? await this.db
          .selectFrom('document_members')
          .innerJoin('users', 'users.id', 'document_members.user_id')
          .select(['document_members.doc_id', 'users.id', 'users.email', 'document_members.role'])
          .where(
            'document_members.doc_id',
            'in',
            rows.map((r) => r.id),
          )
          .execute()
      : [];
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
    originUrl: row.origin_url,
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

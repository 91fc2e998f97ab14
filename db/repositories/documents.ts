import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema';
import type { DocumentMemberRow } from '../tables/document-members';
import type { DocumentRow } from '../tables/documents';

type Db = Kysely<Database> | Transaction<Database>;

/** Creates an empty document. */
export async function insertDocument(db: Db, id: string): Promise<DocumentRow> {
  return db.insertInto('documents').values({ id }).returningAll().executeTakeFirstOrThrow();
}

/** The document, unless it does not exist or is deleted. */
export async function findLiveDocument(db: Db, id: string): Promise<DocumentRow | undefined> {
  return db.selectFrom('documents').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/** Whether a document row exists, deleted or not. */
export async function documentExists(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('documents').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** Soft-deletes every live document a user owns; returns their ids. */
export async function softDeleteOwnedDocuments(db: Db, ownerId: string): Promise<string[]> {
  const rows = await db.updateTable('documents').set({ deleted_at: new Date() }).where('owner_id', '=', ownerId).where('deleted_at', 'is', null).returning('id').execute();
  return rows.map((r) => r.id);
}

/** A user's role in a document, or null when they are not a member. */
export async function findMemberRole(db: Db, docId: string, userId: string): Promise<DocumentMemberRow['role'] | null> {
  const row = await db.selectFrom('document_members').select('role').where('doc_id', '=', docId).where('user_id', '=', userId).executeTakeFirst();
  return row?.role ?? null;
}

/** Creates a document owned by `ownerId` (the owner's membership is `addMember`'s job). */
export async function insertOwnedDocument(db: Db, doc: { id: string; ownerId: string; title: string; originUrl: string | null; originField: string | null }): Promise<DocumentRow> {
  return db.insertInto('documents').values({ id: doc.id, owner_id: doc.ownerId, title: doc.title, origin_url: doc.originUrl, origin_field: doc.originField }).returningAll().executeTakeFirstOrThrow();
}

/** A document row, deleted or not; throws when there is none. */
export async function getDocument(db: Db, id: string): Promise<DocumentRow> {
  return db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Live documents a user owns. */
export async function countOwnedDocuments(db: Db, ownerId: string): Promise<number> {
  const row = await db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner_id', '=', ownerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The live documents a user is a member of, with their role, most recently changed first. */
export async function listMemberDocuments(db: Db, userId: string): Promise<(DocumentRow & { role: DocumentMemberRow['role'] })[]> {
  return db
    .selectFrom('documents')
    .innerJoin('document_members', 'document_members.doc_id', 'documents.id')
    .selectAll('documents')
    .select('document_members.role')
    .where('document_members.user_id', '=', userId)
    .where('documents.deleted_at', 'is', null)
    .orderBy('documents.updated_at', 'desc')
    .execute();
}

export async function setDocumentTitle(db: Db, id: string, title: string): Promise<void> {
  await db.updateTable('documents').set({ title }).where('id', '=', id).execute();
}

/** Marks a live document deleted; false when there was none. */
export async function softDeleteDocument(db: Db, id: string): Promise<boolean> {
  const row = await db.updateTable('documents').set({ deleted_at: new Date() }).where('id', '=', id).where('deleted_at', 'is', null).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Clears `deleted_at` of a document deleted after `deletedAfter`; false when there was none. */
export async function restoreDocument(db: Db, id: string, deletedAfter: Date): Promise<boolean> {
  const row = await db.updateTable('documents').set({ deleted_at: null }).where('id', '=', id).where('deleted_at', '>', deletedAfter).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Adds a member, or changes their role. */
export async function upsertMember(db: Db, docId: string, userId: string, role: DocumentMemberRow['role']): Promise<void> {
  await db
    .insertInto('document_members')
    .values({ doc_id: docId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['doc_id', 'user_id']).doUpdateSet({ role }))
    .execute();
}

/** Removes a member; returns how many rows went (0 or 1). */
export async function deleteMember(db: Db, docId: string, userId: string): Promise<number> {
  return Number((await db.deleteFrom('document_members').where('doc_id', '=', docId).where('user_id', '=', userId).executeTakeFirst()).numDeletedRows);
}

/** A document's members with their accounts, in the order they joined. */
export async function listMembers(db: Db, docId: string) {
  return db
    .selectFrom('document_members')
    .innerJoin('users', 'users.id', 'document_members.user_id')
    .select(['users.id', 'users.email', 'users.display_name', 'document_members.role'])
    .where('doc_id', '=', docId)
    .orderBy('document_members.created_at')
    .execute();
}

/** The members of several documents, with their emails (for the admin listing). */
export async function listMembersOf(db: Db, docIds: readonly string[]) {
  if (docIds.length === 0) return [];
  return db
    .selectFrom('document_members')
    .innerJoin('users', 'users.id', 'document_members.user_id')
    .select(['document_members.doc_id', 'users.id', 'users.email', 'document_members.role'])
    .where('document_members.doc_id', 'in', [...docIds])
    .execute();
}

/** Documents matching `query` (id, or title containing it), with storage figures, for admins. */
export async function searchDocumentsForAdmin(db: Db, filter: { query?: string | undefined; deleted?: boolean | undefined; limit: number; offset: number }) {
  let q = db
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
      (eb) => eb.selectFrom('doc_updates').select(sql<number>`coalesce(sum(update_count), 0)::int8`.as('n')).whereRef('doc_updates.doc_id', '=', 'documents.id').as('log_updates'),
      (eb) => eb.selectFrom('doc_updates').select(sql<number>`coalesce(sum(length(updates)), 0)::int8`.as('n')).whereRef('doc_updates.doc_id', '=', 'documents.id').as('log_bytes'),
      (eb) => eb.selectFrom('doc_snapshots').select(sql<number>`length(bytes)::int8`.as('n')).whereRef('doc_snapshots.doc_id', '=', 'documents.id').as('snapshot_bytes'),
    ]);
  if (filter.query) {
    const like = `%${filter.query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('documents.id', '=', filter.query!), eb('documents.title', 'ilike', like)]));
  }
  q = filter.deleted ? q.where('documents.deleted_at', 'is not', null) : q.where('documents.deleted_at', 'is', null);
  return q.orderBy('documents.updated_at', 'desc').limit(filter.limit).offset(filter.offset).execute();
}

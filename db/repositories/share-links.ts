import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
import type { ShareLinkRow } from '../tables/share-links';

type Db = Kysely<Database> | Transaction<Database>;

/** A live (unrevoked) share link of a document, by its token's hash: its id and the access it gives, or null. */
export async function findLinkAccess(db: Db, docId: string, tokenHash: string): Promise<{ id: string; access: ShareLinkRow['access'] } | null> {
  const row = await db.selectFrom('share_links').select(['id', 'access']).where('token_hash', '=', tokenHash).where('doc_id', '=', docId).where('revoked_at', 'is', null).executeTakeFirst();
  return row ?? null;
}

/** A document's links, newest first (revoked ones included). */
export async function listShareLinks(db: Db, docId: string): Promise<ShareLinkRow[]> {
  return db.selectFrom('share_links').selectAll().where('doc_id', '=', docId).orderBy('created_at', 'desc').execute();
}

/** Links a user created that are not revoked. */
export async function countActiveLinksBy(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('share_links')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('created_by', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertShareLink(db: Db, link: { id: string; docId: string; tokenHash: string; access: ShareLinkRow['access']; createdBy: string }): Promise<ShareLinkRow> {
  return db.insertInto('share_links').values({ id: link.id, doc_id: link.docId, token_hash: link.tokenHash, access: link.access, created_by: link.createdBy }).returningAll().executeTakeFirstOrThrow();
}

/** Revokes a live link of a document; false when there was none. */
export async function revokeShareLink(db: Db, docId: string, linkId: string): Promise<boolean> {
  const row = await db
    .updateTable('share_links')
    .set({ revoked_at: new Date() })
    .where('id', '=', linkId)
    .where('doc_id', '=', docId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The access of a live link of a document, by the link's id, or null. */
export async function findActiveLinkAccess(db: Db, docId: string, linkId: string): Promise<ShareLinkRow['access'] | null> {
  const row = await db.selectFrom('share_links').select('access').where('id', '=', linkId).where('doc_id', '=', docId).where('revoked_at', 'is', null).executeTakeFirst();
  return row?.access ?? null;
}

import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
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

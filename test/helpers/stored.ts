import type { Kysely } from 'kysely';
import { LoroDoc } from 'loro-crdt';
import { documentParts, loadStoredDocument } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';

/** The document as the database holds it (snapshot + log), as a Loro document. */
export async function storedDoc(db: Kysely<Database>, docId: string): Promise<LoroDoc> {
  const stored = await loadStoredDocument(db, docId);
  const doc = new LoroDoc();
  doc.importBatch(documentParts(stored));
  return doc;
}

/** How many accounts the database holds. */
export async function userCount(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

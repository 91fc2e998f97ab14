import { sql, type Kysely } from 'kysely';
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

/**
 * Locks `table` from a connection of the test's own until the returned function is called:
 * a Postgres server's statements on it wait meanwhile (its commits, or its reads of documents).
 */
export async function lockTable(db: Kysely<Database>, table: 'doc_updates' | 'documents'): Promise<() => Promise<void>> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const lock = db.transaction().execute(async (trx) => {
    await sql`lock table ${sql.table(table)} in access exclusive mode`.execute(trx);
    locked();
    await held;
  });
  await isLocked;
  return async () => {
    release();
    await lock;
  };
}

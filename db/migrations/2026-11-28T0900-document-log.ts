// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('documents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('head_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('compacting_until', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('doc_updates')
    .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    // Every update committed together, encoded as in db/update-batch.ts.
    .addColumn('updates', 'bytea', (c) => c.notNull())
    .addColumn('update_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('doc_updates_pkey', ['doc_id', 'seq'])
    .execute();

  await db.schema
    .createTable('doc_snapshots')
    .addColumn('doc_id', 'text', (c) => c.primaryKey().references('documents.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    // Updates the snapshot could not include because their dependencies never arrived.
    .addColumn('pending', 'bytea')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Loro data is already compressed: storing it EXTERNAL skips Postgres's futile attempt to
  // compress it again, on every write and every read.
  for (const [table, column] of [
    ['doc_updates', 'updates'],
    ['doc_snapshots', 'bytes'],
    ['doc_snapshots', 'pending'],
  ] as const) {
    await sql`alter table ${sql.table(table)} alter column ${sql.ref(column)} set storage external`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('doc_snapshots').execute();
  await db.schema.dropTable('doc_updates').execute();
  await db.schema.dropTable('documents').execute();
}

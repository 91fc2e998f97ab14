// Frozen: never edit a migration that has shipped; add a new one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Who sent each Loro peer id of a document, recorded when the room first accepts an update
  // of that peer: an account, or the share link an anonymous writer came through.
  await db.schema
    .createTable('doc_peers')
    .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
    // A Loro PeerID (an unsigned 64-bit integer), in decimal.
    .addColumn('peer', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('share_link_id', 'text', (c) => c.references('share_links.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('doc_peers_pkey', ['doc_id', 'peer'])
    .execute();

  // The version history: consecutive log entries by the same people, a few minutes apart at
  // most, folded into one row when compaction drops the entries (or a version is named).
  await db.schema
    .createTable('doc_versions')
    .addColumn('doc_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('first_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz', (c) => c.notNull())
    // JSON array of author keys ('user:<id>', 'link:<id>', 'unknown'), sorted.
    .addColumn('authors', 'text', (c) => c.notNull())
    // Loro operations the entries added (characters inserted and deleted, marks).
    .addColumn('ops', 'integer', (c) => c.notNull())
    // JSON {peer: counter}: the version vector after `last_seq` (null: the snapshot's own).
    .addColumn('version', 'text')
    .addColumn('name', 'text')
    .addColumn('named_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    // A closed row is never extended: later entries start a new one (set by naming).
    .addColumn('closed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addPrimaryKeyConstraint('doc_versions_pkey', ['doc_id', 'first_seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('doc_versions').execute();
  await db.schema.dropTable('doc_peers').execute();
}

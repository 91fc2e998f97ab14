/**
 * The log append, the statement behind every durable acknowledgement, runs as a named prepared
 * statement on Postgres (parsed and planned once per connection, db/prepared.ts), for groups of
 * up to 16 entries; larger groups and every other statement run as before.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/open-database';
import { appendLogEntries, readLogAfter } from '../../db/repositories/doc-log';
import { insertDocument } from '../../db/repositories/documents';
import { postgresBackend, type TestDatabase } from '../helpers/backends';

describe.skipIf(!postgresBackend)('prepared statements (postgres)', () => {
  let db: TestDatabase;
  let single: DatabaseHandle;

  afterEach(async () => {
    await single.close();
    await db.drop();
  });

  /** Prepared statements of the pool's one connection. */
  const prepared = async (): Promise<string[]> =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(single.db)).rows.map((r) => r.statement);

  it('prepares the log append once per connection and group size, and stores every entry', async () => {
    db = await postgresBackend!.create();
    if (db.reopen.kind !== 'postgres') throw new Error('expected a Postgres backend');
    single = await openDatabase({ ...db.reopen, poolSize: 1 });
    const ids = Array.from({ length: 20 }, (_, i) => `doc-${String(i).padStart(2, '0')}`);
    for (const id of ids) await insertDocument(single.db, id);
    const entry = (docId: string, byte: number) => ({ docId, updates: [new Uint8Array([byte, byte])] });

    expect(await appendLogEntries(single.db, [entry('doc-00', 1)])).toEqual([1]);
    expect(await appendLogEntries(single.db, [entry('doc-00', 2)])).toEqual([2]);
    expect(await appendLogEntries(single.db, [entry('doc-01', 3), entry('doc-00', 4)])).toEqual([1, 3]);
    const appends = (await prepared()).filter((s) => s.includes('insert into doc_updates'));
    expect(appends).toHaveLength(2); // one per group size, reused

    // 17 entries: run unprepared, stored all the same.
    expect(
      await appendLogEntries(
        single.db,
        ids.slice(0, 17).map((id, i) => entry(id, i)),
      ),
    ).toEqual([4, 2, ...Array<number>(15).fill(1)]);
    expect((await prepared()).filter((s) => s.includes('insert into doc_updates'))).toHaveLength(2);
    expect((await readLogAfter(single.db, 'doc-00', 0)).map((e) => [e.seq, e.updates.map((u) => [...u])])).toEqual([
      [1, [[1, 1]]],
      [2, [[2, 2]]],
      [3, [[4, 4]]],
      [4, [[0, 0]]],
    ]);
    // Unmarked statements are not prepared.
    expect((await prepared()).every((s) => s.startsWith('/* prepared */'))).toBe(true);
  });
});

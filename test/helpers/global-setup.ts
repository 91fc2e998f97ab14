/**
 * Runs once before all test files: builds a migrated embedded-Postgres data folder and
 * saves it as a tarball, so each test database starts from it in ~1.5 s instead of ~5 s.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../db/migrate';
import { PGliteDialect } from '../../db/pglite-dialect';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-template-'));
  const pglite = await PGlite.create();
  const db = new Kysely<any>({
    dialect: new PGliteDialect({ query: (sql, params) => pglite.query(sql, [...params], { rowMode: 'object' }), close: () => pglite.close() }),
  });
  await migrateToLatest(db);
  const dump = await pglite.dumpDataDir('none');
  await db.destroy();
  const file = join(dir, 'template.tar');
  await writeFile(file, new Uint8Array(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}

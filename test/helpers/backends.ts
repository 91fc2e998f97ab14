/**
 * The storage backends every integration suite runs against (one contract, two engines):
 * embedded PGlite always, real Postgres when `TANDEM_TEST_DATABASE_URL` is set. In CI
 * (`CI` set) Postgres is required: its absence fails the run instead of skipping.
 * Each test database is fresh: a new PGlite from the migrated template, or a new Postgres
 * database created for the test and dropped after it.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle, type DatabaseOptions } from '../../db/open-database';

export interface TestDatabase {
  handle: DatabaseHandle;
  /** Options that open the same database again (another server, a restart). */
  reopen: DatabaseOptions;
  /** Removes the database. */
  drop(): Promise<void>;
}

export interface Backend {
  name: 'embedded' | 'postgres';
  create(): Promise<TestDatabase>;
}

const postgresUrl = process.env.TANDEM_TEST_DATABASE_URL;
if (process.env.CI && !postgresUrl) {
  throw new Error('CI is set but TANDEM_TEST_DATABASE_URL is not: the Postgres suites must run in CI');
}

let templateBlob: Blob | null = null;
async function template(): Promise<Blob> {
  templateBlob ??= new Blob([await readFile(inject('pgliteTemplate'))]);
  return templateBlob;
}

const embedded: Backend = {
  name: 'embedded',
  async create() {
    const loadDataDir = await template();
    const handle = await openDatabase({ kind: 'embedded', loadDataDir });
    return {
      handle,
      reopen: { kind: 'embedded', loadDataDir },
      drop: () => handle.close(),
    };
  },
};

/** Embedded Postgres in a data folder (for tests that restart a server process on it). */
export async function embeddedAt(dataDir: string): Promise<DatabaseOptions> {
  return { kind: 'embedded', dataDir, loadDataDir: await template() };
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const postgres: Backend = {
  name: 'postgres',
  async create() {
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    const name = `tandem_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    const url = withDatabase(postgresUrl!, name);
    const handle = await openDatabase({ kind: 'postgres', url });
    return {
      handle,
      reopen: { kind: 'postgres', url },
      async drop() {
        await handle.close();
        const c = new pg.Client({ connectionString: postgresUrl });
        await c.connect();
        try {
          await c.query(`drop database if exists ${name} with (force)`);
        } finally {
          await c.end();
        }
      },
    };
  },
};

/** The backends of this run. */
export const backends: Backend[] = postgresUrl ? [embedded, postgres] : [embedded];

/** The real-Postgres backend, when configured (for tests that need two servers on one database). */
export const postgresBackend: Backend | undefined = postgresUrl ? postgres : undefined;

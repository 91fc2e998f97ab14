/**
 * The storage backends every integration suite runs against (one contract, two engines):
 * embedded PGlite always, real Postgres when `TANDEM_TEST_DATABASE_URL` is set. In CI
 * (`CI` set) Postgres is required: its absence fails the run instead of skipping.
 * Each test database is fresh: a new PGlite from the migrated template, or a new Postgres
 * database created for the test and dropped after it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A database for a server in another process: its environment, and a way to look inside. */
export interface ProcessDatabase {
  env: Record<string, string>;
  /** Opens the database in this process (embedded: only while no server process has it open). */
  open(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

export interface Backend {
  name: 'embedded' | 'postgres';
  create(): Promise<TestDatabase>;
  createForProcess(): Promise<ProcessDatabase>;
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
  async createForProcess() {
    const dataDir = await mkdtemp(join(tmpdir(), 'tandem-data-'));
    // Seed the folder from the migrated template, so the server process starts fast.
    await (await openDatabase({ kind: 'embedded', dataDir, loadDataDir: await template() })).close();
    return {
      env: { TANDEM_DATA_DIR: dataDir },
      open: () => openDatabase({ kind: 'embedded', dataDir }),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A fresh, empty database on the test server; the caller migrates it by opening it. */
async function freshPostgres(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tandem_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(`create database ${name}`);
  return { url: withDatabase(postgresUrl!, name), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

const postgres: Backend = {
  name: 'postgres',
  async create() {
    const { url, drop } = await freshPostgres();
    const handle = await openDatabase({ kind: 'postgres', url });
    return {
      handle,
      reopen: { kind: 'postgres', url },
      async drop() {
        await handle.close();
        await drop();
      },
    };
  },
  async createForProcess() {
    const { url, drop } = await freshPostgres();
    await (await openDatabase({ kind: 'postgres', url })).close();
    return { env: { DATABASE_URL: url }, open: () => openDatabase({ kind: 'postgres', url }), drop };
  },
};

/** The backends of this run. */
export const backends: Backend[] = postgresUrl ? [embedded, postgres] : [embedded];

/** The real-Postgres backend, when configured (for tests that need two servers on one database). */
export const postgresBackend: Backend | undefined = postgresUrl ? postgres : undefined;

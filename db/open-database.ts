/**
 * The database factory: Postgres through `pg` when a URL is given, embedded Postgres (PGlite,
 * in a worker thread) in a data folder otherwise. Both run the same migrations and queries.
 */
import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate';
import { prepareMarkedStatements } from './prepared';
import { PGliteWorkerClient } from './pglite-client';
import { PGliteDialect } from './pglite-dialect';
import type { Database } from './schema';

export type DatabaseKind = 'postgres' | 'embedded';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Closes every connection (and stops embedded Postgres). */
  close(): Promise<void>;
}

export type DatabaseOptions =
  | {
      kind: 'postgres';
      url: string;
      /** Pool size; default 10 (each document writes through at most one at a time). */
      poolSize?: number;
      /** Called when a pooled connection fails outside a query (e.g. Postgres restarting). */
      onIdleError?: (error: Error) => void;
    }
  | {
      kind: 'embedded';
      /** Data folder; `undefined` keeps the database in memory (tests). */
      dataDir?: string;
      /** A PGlite data-folder tarball to start from (tests start from a migrated template). */
      loadDataDir?: Blob;
    };

const INT8_OID = 20;

/** `bigint` columns come back as numbers: sequence numbers stay far below 2^53. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} is beyond 2^53`);
  return n;
}

/** Opens the database and runs pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const handle = options.kind === 'postgres' ? openPostgres(options) : await openEmbedded(options);
  try {
    await migrateToLatest(handle.db);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // Fail fast while Postgres is down: callers retry, nobody waits forever on a dead socket.
    connectionTimeoutMillis: 3_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // Without listeners, a lost connection (Postgres restarting) would crash the process: the
  // pool listens on idle clients only, and drops its listener while a client is checked out.
  pool.on('error', (error) => options.onIdleError?.(error));
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error));
    prepareMarkedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', close: () => db.destroy() };
}

async function openEmbedded(options: Extract<DatabaseOptions, { kind: 'embedded' }>): Promise<DatabaseHandle> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const client = await PGliteWorkerClient.start({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: await options.loadDataDir.arrayBuffer() } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  return { db, kind: 'embedded', close: () => db.destroy() };
}

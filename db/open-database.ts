/**
 * The database factory: Postgres through `pg` when a URL is given, embedded Postgres (PGlite,
 * in a worker thread) in a data folder otherwise. Both run the same migrations and queries.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import type { PoolClient } from 'pg';
import { lockDataDir, restrictDataDir, type DataDirLock } from './data-dir';
import { migrateToLatest } from './migrate';
import { prepareMarkedStatements } from './prepared';
import { PGliteWorkerClient } from './pglite-client';
import { PGliteDialect } from './pglite-dialect';
import type { Database } from './schema';

export type DatabaseKind = 'postgres' | 'embedded';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** The embedded data folder's lock, held until `close()` (none in memory or on Postgres). */
  readonly dataDirLock?: DataDirLock;
  /** Calls `listener` with every query that fails, and why (for metrics; the caller still gets the error). */
  onQueryError(listener: (kind: QueryErrorKind, error: unknown) => void): void;
  /** Closes every connection (and stops embedded Postgres). */
  close(): Promise<void>;
}

/**
 * Why a query failed: no connection (refused, lost, timed out: SQLSTATE classes 08 and 57P, or
 * a network error without one), a constraint (class 23: often expected, like a taken email),
 * or anything else the statement hit.
 */
export type QueryErrorKind = 'connection' | 'constraint' | 'query';

function kindOf(error: unknown): QueryErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57P)/.test(code)) return 'connection';
  return code.startsWith('23') ? 'constraint' : 'query';
}

/** Kysely's log, used only to hear failed queries; `failed` for failures outside a query (taking a connection). */
function queryErrorLog(): { log: (event: LogEvent) => void; failed: (kind: QueryErrorKind, error: unknown) => void; onQueryError: DatabaseHandle['onQueryError'] } {
  const listeners: ((kind: QueryErrorKind, error: unknown) => void)[] = [];
  const failed = (kind: QueryErrorKind, error: unknown): void => {
    for (const listener of listeners) listener(kind, error);
  };
  return {
    log: (event) => {
      if (event.level === 'error') failed(kindOf(event.error), event.error);
    },
    failed,
    onQueryError: (listener) => listeners.push(listener),
  };
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
      /** Who is opening it, named to a second process that tries (`tandem server`, `admin CLI`). */
      role?: string;
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
  const handle = options.kind === 'postgres' ? await openPostgres(options) : await openEmbedded(options);
  try {
    await migrateToLatest(handle.db);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

async function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): Promise<DatabaseHandle> {
  // Imported here: an embedded server never loads pg (~15 MB of RSS).
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // Fail fast while Postgres is down: callers retry, nobody waits forever on a dead socket.
    connectionTimeoutMillis: 3_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
    },
  });
  // Without listeners, a lost connection (Postgres restarting) would crash the process: the
  // pool listens on idle clients only, and drops its listener while a client is checked out.
  pool.on('error', (error) => options.onIdleError?.(error));
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onIdleError?.(error));
    prepareMarkedStatements(client);
  });
  const errors = queryErrorLog();
  // Kysely logs failed queries, not a connection it could not take (Postgres down): counted here.
  // (Kysely calls the promise form; the callback form, which nothing here uses, is left alone.)
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<PoolClient> | undefined;
  pool.connect = ((...args: unknown[]) => {
    if (args.length > 0) return connect(...args);
    return connect()!.catch((error: unknown) => {
      errors.failed('connection', error);
      throw error;
    });
  }) as typeof pool.connect;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: errors.log });
  return { db, kind: 'postgres', onQueryError: errors.onQueryError, close: () => db.destroy() };
}

async function openEmbedded(options: Extract<DatabaseOptions, { kind: 'embedded' }>): Promise<DatabaseHandle> {
  // One process per data folder (data-dir.ts), and only its owner may read it.
  const lock = options.dataDir ? await lockDataDir(options.dataDir, options.role ?? 'a Tandem process') : undefined;
  try {
    if (options.dataDir) await restrictDataDir(options.dataDir);
    if (options.dataDir && !options.loadDataDir && !existsSync(join(options.dataDir, 'PG_VERSION'))) {
      // A new folder: PGlite runs initdb, a second wasm instance whose memory the worker keeps
      // (the server sat at ~900 MB instead of ~250 after a first start). Initialise it in a
      // worker of its own and end that thread, which returns all of it.
      await (await PGliteWorkerClient.start({ dataDir: options.dataDir })).close();
    }
    const client = await PGliteWorkerClient.start({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.loadDataDir ? { loadDataDir: await options.loadDataDir.arrayBuffer() } : {}),
    });
    const errors = queryErrorLog();
    const db = new Kysely<Database>({ dialect: new PGliteDialect(client), log: errors.log });
    const close = async (): Promise<void> => {
      try {
        await db.destroy();
      } finally {
        await lock?.release();
      }
    };
    return { db, kind: 'embedded', ...(lock ? { dataDirLock: lock } : {}), onQueryError: errors.onQueryError, close };
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/**
 * Server configuration: read once from the environment at start, typed, frozen. A bad value
 * stops the server with a message naming the variable; nothing else reads `process.env`.
 */
import { CHROME_EXTENSION_ID } from '../shared/extension-id';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { LogLevel } from './logger';

/** Limits and timings of the sync endpoint. Every default is chosen for one 2-core node. */
export interface SyncOptions {
  /** How long a room stays in memory after its last socket leaves. 30 s: a reload or a
   *  reconnect finds it warm, and idle documents still leave memory soon. */
  roomGraceMs: number;
  /** Rooms one socket may hold. 256: one extension socket serves every bound field of a browser. */
  maxRoomsPerConnection: number;
  /** Join rate limit per socket (token bucket): burst, then this many per second. */
  joinBurst: number;
  joinsPerSecond: number;
  /** Largest update accepted, after fragment reassembly. 16 MiB holds hours of offline typing. */
  maxUpdateBytes: number;
  /** Fragmented updates one socket may be reassembling at once. */
  maxFragmentBatches: number;
  /** Reassembly timeout (the protocol's default, 10 s). */
  fragmentTimeoutMs: number;
  /** Bytes a socket may have accepted but not yet committed; beyond it, Ack `rate_limited`.
   *  This caps what one client can make the server hold while the database is slow or down. */
  maxPendingBytesPerConnection: number;
  /** Bytes queued for a socket before it is dropped as a slow consumer (it rejoins from its version). */
  maxSocketBufferBytes: number;
  /** Compact a document once its log since the last snapshot has this many entries or bytes.
   *  Loading imports the snapshot (~1 ms) plus the log, so the log bounds cold-load time. */
  compactAfterUpdates: number;
  compactAfterBytes: number;
  /** WebSocket-level ping interval; a socket that misses two pongs is dropped. */
  heartbeatMs: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database:
    | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number }
    | { readonly kind: 'embedded'; readonly dataDir: string };
  readonly logLevel: LogLevel;
  /** How long shutdown waits for pending writes before closing sockets anyway. */
  readonly shutdownTimeoutMs: number;
  readonly sync: Readonly<SyncOptions>;
  /** Serve `GET /metrics` (process and sync figures, for benchmarks and scraping) without
   *  authentication. Off by default; admins get the same figures from `/api/admin/stats`. */
  readonly exposeMetrics: boolean;
  readonly auth: Readonly<AuthOptions>;
  readonly cluster: Readonly<ClusterOptions>;
}

export interface ClusterOptions {
  /** How nodes tell each other about commits: `local` (one node), Postgres NOTIFY, or Redis. */
  bus: 'local' | 'postgres' | 'redis';
  redisUrl: string | null;
  /** Node processes `npm start` runs on this machine (one per core is the usual choice). */
  nodes: number;
  /** How often loaded documents' heads are compared with the database: the bound on how
   *  late a lost doorbell can make an update. */
  headCheckMs: number;
}

export interface AuthOptions {
  /** The server's public origin (`https://tandem.example.com`), used in share links and origin
   *  checks. Unset: taken from each request's Host header (fine on localhost). */
  publicUrl: string | null;
  /** Honour `X-Forwarded-Proto`/`X-Forwarded-For` from a TLS-terminating proxy. */
  trustProxy: boolean;
  /** Chrome extension ids allowed as origins (`chrome-extension://<id>`). */
  extensionIds: readonly string[];
  /** scrypt cost as log2 N (r = 8, p = 1): 16 uses 64 MiB and ~0.2 s per hash. */
  passwordCost: number;
  /** Creates this admin account at start when no admin exists yet. */
  adminEmail: string | null;
  /** Its password; when unset, a random one is generated and logged once. */
  adminPassword: string | null;
}

export const defaultSyncOptions: Readonly<SyncOptions> = Object.freeze({
  roomGraceMs: 30_000,
  maxRoomsPerConnection: 256,
  // A reconnecting socket rejoins all its rooms at once.
  joinBurst: 256,
  joinsPerSecond: 20,
  maxUpdateBytes: 16 * 1024 * 1024,
  maxFragmentBatches: 8,
  fragmentTimeoutMs: 10_000,
  maxPendingBytesPerConnection: 32 * 1024 * 1024,
  maxSocketBufferBytes: 64 * 1024 * 1024,
  compactAfterUpdates: 500,
  compactAfterBytes: 256 * 1024,
  heartbeatMs: 30_000,
});

/** A configuration problem, naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  TANDEM_PORT: port.default(8787),
  TANDEM_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  TANDEM_DB_POOL_SIZE: positiveInt.default(10),
  TANDEM_DATA_DIR: z.string().min(1).default('./.tandem'),
  TANDEM_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  TANDEM_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  TANDEM_ROOM_GRACE_MS: z.coerce.number().int().min(0).default(defaultSyncOptions.roomGraceMs),
  TANDEM_MAX_UPDATE_BYTES: positiveInt.default(defaultSyncOptions.maxUpdateBytes),
  TANDEM_COMPACT_AFTER_UPDATES: positiveInt.default(defaultSyncOptions.compactAfterUpdates),
  TANDEM_EXPOSE_METRICS: z.enum(['0', '1', 'true', 'false']).default('0'),
  TANDEM_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/]+\/?$/, 'must be an origin like https://tandem.example.com')
    .optional(),
  TANDEM_TRUST_PROXY: z.enum(['0', '1', 'true', 'false']).default('0'),
  TANDEM_EXTENSION_IDS: z
    .string()
    .regex(/^[a-p]{32}(,[a-p]{32})*$/, 'must be comma-separated Chrome extension ids (32 letters a-p)')
    .optional(),
  TANDEM_PASSWORD_COST: z.coerce.number().int().min(10).max(20).default(16),
  TANDEM_ADMIN_EMAIL: z.string().email().optional(),
  TANDEM_ADMIN_PASSWORD: z.string().min(8).optional(),
  TANDEM_BUS: z.enum(['local', 'postgres', 'redis']).optional(),
  TANDEM_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  TANDEM_NODES: positiveInt.max(64).default(1),
  TANDEM_HEAD_CHECK_MS: positiveInt.default(5_000),
});

const truthy = (v: string): boolean => v === '1' || v === 'true';

/** Reads the configuration from `env`; throws `ConfigError` naming every bad variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const bus = e.TANDEM_BUS ?? (e.DATABASE_URL ? 'postgres' : 'local');
  if (!e.DATABASE_URL && (e.TANDEM_NODES > 1 || bus === 'postgres')) {
    throw new ConfigError('invalid configuration: embedded Postgres serves one node; set DATABASE_URL to run several (TANDEM_NODES, TANDEM_BUS)');
  }
  if (bus === 'redis' && !e.TANDEM_REDIS_URL) throw new ConfigError('invalid configuration: TANDEM_BUS=redis needs TANDEM_REDIS_URL');
  if (bus === 'local' && e.TANDEM_NODES > 1) throw new ConfigError('invalid configuration: TANDEM_NODES > 1 needs a bus (TANDEM_BUS=postgres or redis)');
  return Object.freeze({
    port: e.TANDEM_PORT,
    host: e.TANDEM_HOST,
    database: Object.freeze(
      e.DATABASE_URL
        ? { kind: 'postgres' as const, url: e.DATABASE_URL, poolSize: e.TANDEM_DB_POOL_SIZE }
        : { kind: 'embedded' as const, dataDir: resolve(e.TANDEM_DATA_DIR) },
    ),
    logLevel: e.TANDEM_LOG_LEVEL,
    shutdownTimeoutMs: e.TANDEM_SHUTDOWN_TIMEOUT_MS,
    exposeMetrics: truthy(e.TANDEM_EXPOSE_METRICS),
    auth: Object.freeze({
      publicUrl: e.TANDEM_PUBLIC_URL?.replace(/\/$/, '') ?? null,
      trustProxy: truthy(e.TANDEM_TRUST_PROXY),
      extensionIds: Object.freeze([CHROME_EXTENSION_ID, ...(e.TANDEM_EXTENSION_IDS?.split(',') ?? [])]),
      passwordCost: e.TANDEM_PASSWORD_COST,
      adminEmail: e.TANDEM_ADMIN_EMAIL?.toLowerCase() ?? null,
      adminPassword: e.TANDEM_ADMIN_PASSWORD ?? null,
    }),
    cluster: Object.freeze({ bus, redisUrl: e.TANDEM_REDIS_URL ?? null, nodes: e.TANDEM_NODES, headCheckMs: e.TANDEM_HEAD_CHECK_MS }),
    sync: Object.freeze({
      ...defaultSyncOptions,
      roomGraceMs: e.TANDEM_ROOM_GRACE_MS,
      maxUpdateBytes: e.TANDEM_MAX_UPDATE_BYTES,
      compactAfterUpdates: e.TANDEM_COMPACT_AFTER_UPDATES,
    }),
  });
}

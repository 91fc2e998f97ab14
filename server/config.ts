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
  /** Open sockets one client address may hold (all accounts and anonymous ones together).
   *  High, because a whole office can sit behind one NAT address. */
  maxSocketsPerAddress: number;
  /** Open sockets one account may hold: one per browser, plus scripts. */
  maxSocketsPerAccount: number;
  /** Join rate limit per client address, over all its sockets (token bucket). */
  addressJoinBurst: number;
  addressJoinsPerSecond: number;
  /** An anonymous socket that has joined no room after this long is closed (4008 `idle`):
   *  a stranger may not hold sockets open for free. */
  anonymousIdleMs: number;
  /** Operations one update may carry (rows of Loro's op table; see update-check.ts). A whole
   *  automerge-paper history as one update is 13,667. Each costs memory in every replica
   *  however few bytes it took on the wire. */
  maxOpsPerUpdate: number;
  /** Text a document may hold, in UTF-8 bytes (also the most one update may insert or delete). */
  maxDocumentTextBytes: number;
  /** What a document may take in storage: its snapshot and log, history included. */
  maxDocumentBytes: number;
  /** Time budget of one piece of heavy document work in the worker thread (text export,
   *  snapshot, checking a client's snapshot); past it the worker is replaced and the work fails. */
  heavyWorkTimeoutMs: number;
  /** Keep this many days of version history; compaction folds older history into a shallow
   *  snapshot (its state kept, its edits gone). Null: keep everything (the default). */
  historyDays: number | null;
  /** Bytes one presence entry may take (key and value; a Tandem caret entry is under 200). */
  maxPresenceEntryBytes: number;
  /** Presence entries one socket may hold in one document (one per bound field). */
  maxPresenceEntriesPerSocket: number;
  /** Presence entries one socket may send (token bucket over all its documents): a burst, then
   *  this many a second. Tandem's clients send at most 20 batches a second per document. */
  presenceEntryBurst: number;
  presenceEntriesPerSecond: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly database: { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number } | { readonly kind: 'embedded'; readonly dataDir: string };
  readonly logLevel: LogLevel;
  /** TANDEM_DATA_DIR, resolved: embedded Postgres lives here, and files the server writes once
   *  (a generated administrator password). */
  readonly dataDir: string;
  /** How long shutdown waits for pending writes before closing sockets anyway. */
  readonly shutdownTimeoutMs: number;
  readonly sync: Readonly<SyncOptions>;
  /**
   * TANDEM_METRICS_ADDR (`host:port`): a second listener that serves `GET /metrics` to anyone
   * who reaches it (a private network, the scraper's). Null by default: `/metrics` is then on
   * the main port only, for a token with the `metrics` or `admin` scope.
   */
  readonly metricsAddress: { readonly host: string; readonly port: number } | null;
  readonly auth: Readonly<AuthOptions>;
  readonly cluster: Readonly<ClusterOptions>;
  readonly http: Readonly<HttpOptions>;
  readonly quotas: Readonly<Quotas>;
}

/** What one account may own. */
export interface Quotas {
  /** Documents an account owns (deleted ones do not count). */
  documentsPerAccount: number;
  /** Share links an account has made that are not revoked. */
  linksPerAccount: number;
}

export const defaultQuotas: Readonly<Quotas> = Object.freeze({ documentsPerAccount: 10_000, linksPerAccount: 1_000 });

/** Limits of the HTTP server itself. */
export interface HttpOptions {
  /** Time a client has to send a request's headers (Node's default is 60 s; a slow-headers
   *  client holds a socket that long). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request (Node's default is 300 s). */
  requestTimeoutMs: number;
}

export const defaultHttpOptions: Readonly<HttpOptions> = Object.freeze({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });

export interface ClusterOptions {
  /** How nodes tell each other about commits: `local` (one node), Postgres NOTIFY, or Redis. */
  bus: 'local' | 'postgres' | 'redis';
  redisUrl: string | null;
  /** Node processes `npm start` runs on this machine (one per core is the usual choice). */
  nodes: number;
  /** How often loaded documents' heads are compared with the database: the bound on how
   *  late a lost doorbell can make an update. */
  headCheckMs: number;
  /** The bus channel (NOTIFY channel or Redis channel). Deployments that share a Redis or a
   *  Postgres server give each its own, or they hear each other's doorbells and presence. */
  channel: string;
}

export interface AuthOptions {
  /** The server's public origin (`https://tandem.example.com`), used in share links and origin
   *  checks. Unset: taken from each request's Host header (fine on localhost). */
  publicUrl: string | null;
  /** Honour `X-Forwarded-Proto`/`X-Forwarded-For` from a TLS-terminating proxy. */
  trustProxy: boolean;
  /** How many proxies stand in front (with `trustProxy`): the client's address is the one the
   *  outermost of them appended, this many entries from the right of X-Forwarded-For. */
  proxyHops: number;
  /** Chrome extension ids allowed as origins (`chrome-extension://<id>`). */
  extensionIds: readonly string[];
  /** scrypt cost as log2 N (r = 8, p = 1): 16 uses 64 MiB and ~0.2 s per hash. */
  passwordCost: number;
  /** Creates this admin account at start when no admin exists yet. */
  adminEmail: string | null;
  /** Its password; when unset, a random one is generated and logged once. */
  adminPassword: string | null;
  /** `open`: anyone may create an account; `closed`: only administrators create accounts
   *  (`POST /api/admin/users`). Share links work either way: they need no account. */
  signUp: 'open' | 'closed';
  /** Sign-ups one client address may make per hour (a whole office shares an address). */
  signUpsPerAddressPerHour: number;
  /** Password hashes computed at once, and waiting, before sign-ins are refused with 503. */
  hashConcurrency: number;
  hashQueue: number;
  /** A session ends this long after sign-in however much it is used (sliding expiry stops there). */
  sessionMaxAgeMs: number;
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
  maxSocketsPerAddress: 1_024,
  maxSocketsPerAccount: 64,
  addressJoinBurst: 2_000,
  addressJoinsPerSecond: 200,
  anonymousIdleMs: 10_000,
  maxOpsPerUpdate: 200_000,
  maxDocumentTextBytes: 16 * 1024 * 1024,
  historyDays: null,
  maxDocumentBytes: 64 * 1024 * 1024,
  heavyWorkTimeoutMs: 30_000,
  maxPresenceEntryBytes: 4 * 1024,
  maxPresenceEntriesPerSocket: 32,
  presenceEntryBurst: 80,
  presenceEntriesPerSecond: 40,
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
  TANDEM_METRICS_ADDR: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, like 127.0.0.1:9464 or [::1]:9464')
    .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be at most 65535')
    .optional(),
  TANDEM_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/]+\/?$/, 'must be an origin like https://tandem.example.com')
    .optional(),
  // 0/false: no proxy; 1/true: one proxy; N: N proxies in a chain (see AuthOptions.proxyHops).
  TANDEM_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2})$/, 'must be 0, 1, true, false or the number of proxies in front')
    .default('0'),
  TANDEM_EXTENSION_IDS: z
    .string()
    .regex(/^[a-p]{32}(,[a-p]{32})*$/, 'must be comma-separated Chrome extension ids (32 letters a-p)')
    .optional(),
  TANDEM_PASSWORD_COST: z.coerce.number().int().min(10).max(20).default(16),
  TANDEM_ADMIN_EMAIL: z.string().email().optional(),
  TANDEM_ADMIN_PASSWORD: z.string().min(8).optional(),
  TANDEM_SIGNUP: z.enum(['open', 'closed']).default('open'),
  TANDEM_SIGNUPS_PER_ADDRESS: positiveInt.default(10),
  TANDEM_HASH_CONCURRENCY: positiveInt.max(64).default(2),
  TANDEM_HASH_QUEUE: positiveInt.default(64),
  TANDEM_SESSION_MAX_DAYS: positiveInt.max(3650).default(90),
  TANDEM_HISTORY_DAYS: positiveInt.max(36500).optional(),
  TANDEM_BUS: z.enum(['local', 'postgres', 'redis']).optional(),
  TANDEM_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  TANDEM_NODES: positiveInt.max(64).default(1),
  TANDEM_HEAD_CHECK_MS: positiveInt.default(5_000),
  TANDEM_BUS_CHANNEL: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase identifier (letters, digits, _; at most 63)')
    .default('tandem'),
  TANDEM_HEADERS_TIMEOUT_MS: positiveInt.default(defaultHttpOptions.headersTimeoutMs),
  TANDEM_REQUEST_TIMEOUT_MS: positiveInt.default(defaultHttpOptions.requestTimeoutMs),
  TANDEM_MAX_SOCKETS_PER_ADDRESS: positiveInt.default(defaultSyncOptions.maxSocketsPerAddress),
  TANDEM_MAX_SOCKETS_PER_ACCOUNT: positiveInt.default(defaultSyncOptions.maxSocketsPerAccount),
  TANDEM_JOINS_PER_ADDRESS: positiveInt.default(defaultSyncOptions.addressJoinsPerSecond),
  TANDEM_ANONYMOUS_IDLE_MS: positiveInt.default(defaultSyncOptions.anonymousIdleMs),
  TANDEM_MAX_OPS_PER_UPDATE: positiveInt.default(defaultSyncOptions.maxOpsPerUpdate),
  TANDEM_MAX_DOCUMENT_TEXT_BYTES: positiveInt.default(defaultSyncOptions.maxDocumentTextBytes),
  TANDEM_MAX_DOCUMENT_BYTES: positiveInt.default(defaultSyncOptions.maxDocumentBytes),
  TANDEM_HEAVY_WORK_TIMEOUT_MS: positiveInt.default(defaultSyncOptions.heavyWorkTimeoutMs),
  TANDEM_MAX_PRESENCE_ENTRY_BYTES: positiveInt.default(defaultSyncOptions.maxPresenceEntryBytes),
  TANDEM_MAX_PRESENCE_ENTRIES: positiveInt.default(defaultSyncOptions.maxPresenceEntriesPerSocket),
  TANDEM_PRESENCE_ENTRIES_PER_SECOND: positiveInt.default(defaultSyncOptions.presenceEntriesPerSecond),
  TANDEM_MAX_DOCUMENTS_PER_ACCOUNT: positiveInt.default(defaultQuotas.documentsPerAccount),
  TANDEM_MAX_LINKS_PER_ACCOUNT: positiveInt.default(defaultQuotas.linksPerAccount),
});

/** `127.0.0.1:9464` or `[::1]:9464` (checked by the schema) as a host and a port (0: any free one). */
function hostAndPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}
const proxyHops = (v: string): number => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v));

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
    database: Object.freeze(e.DATABASE_URL ? { kind: 'postgres' as const, url: e.DATABASE_URL, poolSize: e.TANDEM_DB_POOL_SIZE } : { kind: 'embedded' as const, dataDir: resolve(e.TANDEM_DATA_DIR) }),
    logLevel: e.TANDEM_LOG_LEVEL,
    dataDir: resolve(e.TANDEM_DATA_DIR),
    shutdownTimeoutMs: e.TANDEM_SHUTDOWN_TIMEOUT_MS,
    metricsAddress: e.TANDEM_METRICS_ADDR ? Object.freeze(hostAndPort(e.TANDEM_METRICS_ADDR)) : null,
    auth: Object.freeze({
      publicUrl: e.TANDEM_PUBLIC_URL?.replace(/\/$/, '') ?? null,
      trustProxy: proxyHops(e.TANDEM_TRUST_PROXY) > 0,
      proxyHops: Math.max(1, proxyHops(e.TANDEM_TRUST_PROXY)),
      extensionIds: Object.freeze([CHROME_EXTENSION_ID, ...(e.TANDEM_EXTENSION_IDS?.split(',') ?? [])]),
      passwordCost: e.TANDEM_PASSWORD_COST,
      adminEmail: e.TANDEM_ADMIN_EMAIL?.toLowerCase() ?? null,
      adminPassword: e.TANDEM_ADMIN_PASSWORD ?? null,
      signUp: e.TANDEM_SIGNUP,
      signUpsPerAddressPerHour: e.TANDEM_SIGNUPS_PER_ADDRESS,
      hashConcurrency: e.TANDEM_HASH_CONCURRENCY,
      hashQueue: e.TANDEM_HASH_QUEUE,
      sessionMaxAgeMs: e.TANDEM_SESSION_MAX_DAYS * 24 * 3600 * 1000,
    }),
    cluster: Object.freeze({ bus, redisUrl: e.TANDEM_REDIS_URL ?? null, nodes: e.TANDEM_NODES, headCheckMs: e.TANDEM_HEAD_CHECK_MS, channel: e.TANDEM_BUS_CHANNEL }),
    sync: Object.freeze({
      ...defaultSyncOptions,
      roomGraceMs: e.TANDEM_ROOM_GRACE_MS,
      maxUpdateBytes: e.TANDEM_MAX_UPDATE_BYTES,
      compactAfterUpdates: e.TANDEM_COMPACT_AFTER_UPDATES,
      maxSocketsPerAddress: e.TANDEM_MAX_SOCKETS_PER_ADDRESS,
      maxSocketsPerAccount: e.TANDEM_MAX_SOCKETS_PER_ACCOUNT,
      addressJoinsPerSecond: e.TANDEM_JOINS_PER_ADDRESS,
      addressJoinBurst: e.TANDEM_JOINS_PER_ADDRESS * 10,
      anonymousIdleMs: e.TANDEM_ANONYMOUS_IDLE_MS,
      maxOpsPerUpdate: e.TANDEM_MAX_OPS_PER_UPDATE,
      maxDocumentTextBytes: e.TANDEM_MAX_DOCUMENT_TEXT_BYTES,
      maxDocumentBytes: e.TANDEM_MAX_DOCUMENT_BYTES,
      heavyWorkTimeoutMs: e.TANDEM_HEAVY_WORK_TIMEOUT_MS,
      historyDays: e.TANDEM_HISTORY_DAYS ?? null,
      maxPresenceEntryBytes: e.TANDEM_MAX_PRESENCE_ENTRY_BYTES,
      maxPresenceEntriesPerSocket: e.TANDEM_MAX_PRESENCE_ENTRIES,
      presenceEntriesPerSecond: e.TANDEM_PRESENCE_ENTRIES_PER_SECOND,
      // A client refreshes all its entries at once: the burst holds at least that many.
      presenceEntryBurst: Math.max(e.TANDEM_PRESENCE_ENTRIES_PER_SECOND * 2, e.TANDEM_MAX_PRESENCE_ENTRIES),
    }),
    quotas: Object.freeze({ documentsPerAccount: e.TANDEM_MAX_DOCUMENTS_PER_ACCOUNT, linksPerAccount: e.TANDEM_MAX_LINKS_PER_ACCOUNT }),
    http: Object.freeze({ headersTimeoutMs: e.TANDEM_HEADERS_TIMEOUT_MS, requestTimeoutMs: Math.max(e.TANDEM_REQUEST_TIMEOUT_MS, e.TANDEM_HEADERS_TIMEOUT_MS) }),
  });
}

/**
 * Assembles one Tandem node: database, rooms, the sync endpoint and the HTTP app on one HTTP
 * server, and the orderly shutdown of all of it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../db/open-database';
import type { Config } from './config';
import { serveAdminSocket } from './admin/admin-socket';
import { createApp } from './http/app';
import { listenForMetrics, type MetricsListener } from './http/metrics-endpoint';
import { countMessages } from './cluster/counted-bus';
import { HostPolicy } from './auth/host-policy';
import { createLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { AccountService } from './access/accounts';
import { DocumentService } from './access/documents';
import { LocalAccessEventBus, type AccessEventBus } from './auth/access-events';
import { AccessTokenService } from './auth/access-tokens';
import { LoginThrottle, SignUpThrottle } from './auth/login-throttle';
import { PasswordHasher } from './auth/password-hasher';
import { SessionService } from './auth/sessions';
import { SyncTicketService } from './auth/sync-tickets';
import { revealGeneratedPassword } from './auth/reveal-password';
import { randomSecret } from './auth/secrets';
import { LocalBus, type Bus } from './cluster/bus';
import { ClusterAccessEventBus, ClusterLink } from './cluster/cluster-link';
import type { Services } from './http/services';
import { DocumentAuthorizer, type JoinAuthorizer } from './sync/authorizer';
import { WorkerCompactor } from './sync/compactor';
import { HistoryService } from './history/history-service';
import { DocStore } from './sync/doc-store';
import { GroupLogWriter } from './sync/log-writer';
import { RoomRegistry } from './sync/room-registry';
import { SyncEndpoint } from './sync/sync-endpoint';

export interface TandemServerOptions {
  config: Readonly<Config>;
  /** An open database; by default one is opened from `config.database`. */
  database?: DatabaseHandle;
  log?: Logger;
  /** Replaces the join authorizer. */
  authorizer?: JoinAuthorizer;
  /** Replaces the bus chosen by `config.cluster` (tests). */
  bus?: Bus;
  /** Where a generated admin password is shown: default stderr when it is a terminal, else a file. */
  terminal?: NodeJS.WritableStream | null;
}

/** The bus `config.cluster` asks for, connected. */
async function startBus(config: Readonly<Config>, database: DatabaseHandle, log: Logger): Promise<Bus> {
  const nodeId = randomSecret(8);
  switch (config.cluster.bus) {
    case 'local':
      return new LocalBus(nodeId);
    case 'postgres': {
      if (config.database.kind !== 'postgres') throw new Error('the Postgres bus needs DATABASE_URL');
      // Loaded only when used: pg and ioredis add ~15 and ~24 MB to a node that never needs them.
      const { PostgresBus } = await import('./cluster/postgres-bus');
      const bus = new PostgresBus(nodeId, { url: config.database.url, db: database.db, log, channel: config.cluster.channel });
      await bus.start();
      return bus;
    }
    case 'redis': {
      const { RedisBus } = await import('./cluster/redis-bus');
      const bus = new RedisBus(nodeId, { url: config.cluster.redisUrl!, log, channel: config.cluster.channel });
      await bus.start();
      return bus;
    }
  }
}

export interface TandemServer {
  readonly http: Server;
  readonly database: DatabaseHandle;
  readonly rooms: RoomRegistry;
  readonly sync: SyncEndpoint;
  readonly metrics: Metrics;
  readonly services: Services;
  readonly link: ClusterLink;
  /** `/metrics` on TANDEM_METRICS_ADDR once listening (null without one). */
  readonly metricsUrl: string | null;
  /** Listens on `config.port` (0 = any free port); resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, writes what was accepted, closes sockets and the database. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 1_000;

export async function createTandemServer(options: TandemServerOptions): Promise<TandemServer> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  // The closures read `sync`, `rooms` and `compactor` only when metrics are taken, after they exist.
  const metrics: Metrics = new Metrics({ connections: () => sync.connectionCount, loadedDocuments: () => rooms.loadedDocuments, heavyWork: () => compactor.activity });
  const database =
    options.database ??
    (await openDatabase(
      config.database.kind === 'postgres'
        ? {
            kind: 'postgres',
            url: config.database.url,
            poolSize: config.database.poolSize,
            onIdleError: (error) => {
              log.warn('db.idle_client_error', { error });
              metrics.databaseError('idle_connection');
            },
          }
        : { kind: 'embedded', dataDir: config.database.dataDir, role: 'tandem server' },
    ));
  database.onQueryError((kind) => metrics.databaseError(kind));
  const compactor = new WorkerCompactor({ timeoutMs: config.sync.heavyWorkTimeoutMs });
  // Group commit across documents (see log-writer.ts), embedded or pooled alike.
  const writer = new GroupLogWriter(database.db);
  const store = new DocStore(database.db, writer, compactor, { historyDays: config.sync.historyDays });
  const ownBus = options.bus ?? (await startBus(config, database, log));
  // One node alone sends nothing anywhere: nothing to count.
  const bus = ownBus instanceof LocalBus ? ownBus : countMessages(ownBus, metrics);
  const link = new ClusterLink(bus, database.db, { headCheckMs: config.cluster.headCheckMs, log });
  const rooms: RoomRegistry = new RoomRegistry({
    store,
    log,
    graceMs: config.sync.roomGraceMs,
    compactAfterUpdates: config.sync.compactAfterUpdates,
    compactAfterBytes: config.sync.compactAfterBytes,
    onCommit: (updates) => metrics.recordCommit(updates),
    onCommitted: (docId, seq, updates) => link.committed(docId, seq, updates),
    onAccepted: (docId, updates) => link.accepted(docId, updates),
    onPresence: (docId, updates) => link.presence(docId, updates),
    onOtherNodesEntry: (source) => metrics.otherNodes(source),
    presence: { maxEntryBytes: config.sync.maxPresenceEntryBytes, maxEntriesPerSocket: config.sync.maxPresenceEntriesPerSocket },
    onRelayed: (updates, sockets) => metrics.relayed(updates, sockets),
    onCommitDuration: (seconds) => metrics.commitDuration(seconds),
  });
  link.attach(rooms);
  const events: AccessEventBus = ownBus instanceof LocalBus ? new LocalAccessEventBus() : new ClusterAccessEventBus(bus);
  const sessions = new SessionService(database.db, events, config.auth.sessionMaxAgeMs);
  const tokens = new AccessTokenService(database.db, events);
  const tickets = new SyncTicketService(database.db);
  const hasher = new PasswordHasher({ cost: { log2N: config.auth.passwordCost, r: 8, p: 1 }, concurrency: config.auth.hashConcurrency, maxQueued: config.auth.hashQueue });
  const accounts = new AccountService({
    db: database.db,
    sessions,
    tokens,
    throttle: new LoginThrottle(database.db),
    signUps: new SignUpThrottle(database.db, config.auth.signUpsPerAddressPerHour),
    events,
    hasher,
    log,
    onAuthFailure: (reason) => metrics.authFailure(reason),
  });
  const documents = new DocumentService(database.db, events, { quotas: config.quotas, maxDocumentTextBytes: config.sync.maxDocumentTextBytes, heavy: compactor });
  const history = new HistoryService({
    db: database.db,
    documents,
    heavy: compactor,
    rooms,
    updateLimits: { maxOps: config.sync.maxOpsPerUpdate, maxAtoms: config.sync.maxDocumentTextBytes },
    maxDocumentTextBytes: config.sync.maxDocumentTextBytes,
    maxDocumentBytes: config.sync.maxDocumentBytes,
  });
  const authorizer = options.authorizer ?? new DocumentAuthorizer(database.db);
  const hosts = new HostPolicy({ publicUrl: config.auth.publicUrl, host: config.host });
  const sync = new SyncEndpoint({
    hosts,
    rooms,
    authorizer,
    options: config.sync,
    log,
    auth: config.auth,
    sessions,
    tokens,
    tickets,
    events,
    onLimit: (limit) => metrics.limitHit(limit),
    checkSnapshot: (bytes, limits) => compactor.checkSnapshot(bytes, limits),
    onRefused: (reason) => metrics.limitHit(reason),
    onAccepted: (updates) => metrics.updatesAcceptedFrom(updates),
    onAcked: (seconds) => metrics.ackLatency(seconds),
    onJoinWaiting: (change) => metrics.joinWaiting(change),
    onAuthFailure: (reason) => metrics.authFailure(reason),
  });

  if (config.auth.adminEmail) {
    const { user, generatedPassword, created } = await accounts.ensureAdmin(config.auth.adminEmail, config.auth.adminPassword);
    if (created && generatedPassword) {
      const reveal = await revealGeneratedPassword({
        email: user.email,
        password: generatedPassword,
        terminal: options.terminal !== undefined ? options.terminal : process.stderr.isTTY ? process.stderr : null,
        dataDir: config.dataDir,
      });
      log.info('admin.created', { email: user.email, generatedPasswordIs: reveal.kind === 'file' ? `written to ${reveal.path} (mode 0600); delete it once read` : 'shown on the terminal' });
    } else if (created) log.info('admin.created', { email: user.email });
  }

  const isReady = async (): Promise<boolean> => {
    const probe = sql`select 1`.execute(database.db).then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_TIMEOUT_MS).unref());
    return Promise.race([probe, timeout]);
  };

  const services: Services = {
    config,
    log,
    db: database.db,
    events,
    sessions,
    tokens,
    tickets,
    accounts,
    hasher,
    documents,
    history,
    metrics,
    hosts,
    compact: async (docId) => {
      const snapshot = await store.compact(docId);
      return snapshot ? { seq: snapshot.seq, bytes: snapshot.bytes.length } : null;
    },
  };
  // `npm run admin` reaches this process through the data folder it holds (embedded only).
  const lock = database.dataDirLock;
  const closeAdminSocket = lock ? await serveAdminSocket(lock.dataDir, { db: database.db, accounts }, log) : null;
  const app = createApp({ services, isReady, metrics });
  let metricsListener: MetricsListener | null = null;
  // Far below Node's defaults (60 s for headers, 300 s for a request): a client that sends a
  // byte a minute must not hold a socket that long. Node checks them every
  // `connectionsCheckingInterval` (30 s by default), so that is tightened too.
  const http = createServer(
    {
      headersTimeout: config.http.headersTimeoutMs,
      requestTimeout: config.http.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(config.http.headersTimeoutMs / 4))),
    },
    app.callback(),
  );
  http.on('upgrade', (req, socket, head) => {
    // Not `new URL`: a malformed request target would throw here, outside any handler.
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/sync') sync.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      sync.stopAccepting();
      await closeAdminSocket?.();
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      // Accepted updates are written (and acknowledged) before sockets close, within a limit.
      const flushed = await Promise.race([rooms.flushAll().then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs).unref())]);
      if (!flushed) log.warn('server.shutdown_unflushed', { timeoutMs: config.shutdownTimeoutMs });
      await sync.closeAll();
      http.closeAllConnections();
      await httpClosed;
      rooms.closeAll();
      link.close();
      await bus.close();
      await metricsListener?.close();
      metrics.close();
      await compactor.close();
      if (!options.database) await database.close();
      log.info('server.stopped');
    })());

  return {
    http,
    database,
    rooms,
    sync,
    metrics,
    services,
    link,
    get metricsUrl() {
      return metricsListener?.url ?? null;
    },
    listen: async () => {
      if (config.metricsAddress) {
        metricsListener = await listenForMetrics(metrics, config.metricsAddress, log);
        log.info('metrics.listening', { url: metricsListener.url });
      }
      return new Promise<number>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          const port = (http.address() as AddressInfo).port;
          // A second process on the data folder is told where this one serves.
          void lock?.describe({ url: `http://${config.host}:${port}` }).catch((error: unknown) => log.warn('data_dir.lock_describe_failed', { error }));
          hosts.listening(port);
          log.info('server.listening', { url: `http://${config.host}:${port}`, database: database.kind, bus: config.cluster.bus, node: bus.nodeId });
          resolve(port);
        });
      });
    },
    close,
  };
}

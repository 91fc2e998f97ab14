/**
 * Assembles one Tandem node: database, rooms, the sync endpoint and the HTTP app on one HTTP
 * server, and the orderly shutdown of all of it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../db/open-database';
import type { Config } from './config';
import { createApp } from './http/app';
import { createLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { AccountService } from './access/accounts';
import { DocumentService } from './access/documents';
import { LocalAccessEventBus, type AccessEventBus } from './auth/access-events';
import { AccessTokenService } from './auth/access-tokens';
import { LoginThrottle } from './auth/login-throttle';
import { SessionService } from './auth/sessions';
import { SyncTicketService } from './auth/sync-tickets';
import { randomSecret } from './auth/secrets';
import { LocalBus, type Bus } from './cluster/bus';
import { ClusterAccessEventBus, ClusterLink } from './cluster/cluster-link';
import { PostgresBus } from './cluster/postgres-bus';
import { RedisBus } from './cluster/redis-bus';
import type { Services } from './http/services';
import { DocumentAuthorizer, type JoinAuthorizer } from './sync/authorizer';
import { WorkerCompactor } from './sync/compactor';
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
}

/** The bus `config.cluster` asks for, connected. */
async function startBus(config: Readonly<Config>, database: DatabaseHandle, log: Logger): Promise<Bus> {
  const nodeId = randomSecret(8);
  switch (config.cluster.bus) {
    case 'local':
      return new LocalBus(nodeId);
    case 'postgres': {
      if (config.database.kind !== 'postgres') throw new Error('the Postgres bus needs DATABASE_URL');
      const bus = new PostgresBus(nodeId, { url: config.database.url, db: database.db, log });
      await bus.start();
      return bus;
    }
    case 'redis': {
      const bus = new RedisBus(nodeId, { url: config.cluster.redisUrl!, log });
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
  /** Listens on `config.port` (0 = any free port); resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, writes what was accepted, closes sockets and the database. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 1_000;

export async function createTandemServer(options: TandemServerOptions): Promise<TandemServer> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const database =
    options.database ??
    (await openDatabase(
      config.database.kind === 'postgres'
        ? {
            kind: 'postgres',
            url: config.database.url,
            poolSize: config.database.poolSize,
            onIdleError: (error) => log.warn('db.idle_client_error', { error }),
          }
        : { kind: 'embedded', dataDir: config.database.dataDir },
    ));
  const compactor = new WorkerCompactor();
  // Group commit across documents (see log-writer.ts), embedded or pooled alike.
  const writer = new GroupLogWriter(database.db);
  const store = new DocStore(database.db, writer, compactor);
  const bus = options.bus ?? (await startBus(config, database, log));
  const link = new ClusterLink(bus, database.db, { headCheckMs: config.cluster.headCheckMs, log });
  // The closures read `sync` and `rooms` only when metrics are taken, after both exist.
  const metrics: Metrics = new Metrics({ connections: () => sync.connectionCount, loadedDocuments: () => rooms.loadedDocuments });
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
  });
  link.attach(rooms);
  const events: AccessEventBus = bus instanceof LocalBus ? new LocalAccessEventBus() : new ClusterAccessEventBus(bus);
  const sessions = new SessionService(database.db, events);
  const tokens = new AccessTokenService(database.db, events);
  const tickets = new SyncTicketService(database.db);
  const accounts = new AccountService({
    db: database.db,
    sessions,
    throttle: new LoginThrottle(database.db),
    events,
    cost: { log2N: config.auth.passwordCost, r: 8, p: 1 },
  });
  const documents = new DocumentService(database.db, events);
  const authorizer = options.authorizer ?? new DocumentAuthorizer(database.db);
  const sync = new SyncEndpoint({ rooms, authorizer, options: config.sync, log, auth: config.auth, sessions, tokens, tickets, events });

  if (config.auth.adminEmail) {
    const { user, generatedPassword, created } = await accounts.ensureAdmin(config.auth.adminEmail, config.auth.adminPassword);
    if (created) {
      log.info('admin.created', { email: user.email, ...(generatedPassword ? { password: generatedPassword, note: 'shown once; change it at /account' } : {}) });
    }
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
    documents,
    metrics,
    compact: async (docId) => {
      const snapshot = await store.compact(docId);
      return snapshot ? { seq: snapshot.seq, bytes: snapshot.bytes.length } : null;
    },
  };
  const app = createApp({ services, isReady, metrics: config.exposeMetrics ? metrics : null });
  const http = createServer(app.callback());
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
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      // Accepted updates are written (and acknowledged) before sockets close, within a limit.
      const flushed = await Promise.race([
        rooms.flushAll().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs).unref()),
      ]);
      if (!flushed) log.warn('server.shutdown_unflushed', { timeoutMs: config.shutdownTimeoutMs });
      await sync.closeAll();
      http.closeAllConnections();
      await httpClosed;
      rooms.closeAll();
      link.close();
      await bus.close();
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
    listen: () =>
      new Promise<number>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          const port = (http.address() as AddressInfo).port;
          log.info('server.listening', { url: `http://${config.host}:${port}`, database: database.kind, bus: config.cluster.bus, node: bus.nodeId });
          resolve(port);
        });
      }),
    close,
  };
}

/**
 * The sync side of a Tandem node in this process, with no HTTP and no network: rooms on a real
 * database (the embedded one unless told otherwise), `Connection`s fed through in-process socket
 * pairs, and `SyncClient`s on the other end. For tests of rooms, connections and clients that
 * need no server process.
 */
import { insertDocument } from '../../db/repositories/documents';
import { defaultSyncOptions, type SyncOptions } from '../../server/config';
import { createLogger } from '../../server/logger';
import type { JoinAuthorizer, Principal } from '../../server/sync/authorizer';
import { WorkerCompactor } from '../../server/sync/compactor';
import { Connection } from '../../server/sync/connection';
import { DocStore } from '../../server/sync/doc-store';
import { GroupLogWriter } from '../../server/sync/log-writer';
import { RoomRegistry, type RoomRegistryOptions } from '../../server/sync/room-registry';
import { SyncClient, type SyncClientOptions, type WebSocketLike } from '../../shared/client/sync-client';
import { newDocumentId } from '../../shared/ids';
import type { TestDatabase } from './backends';
import { TestSocketPair } from './socket-pair';
import { testLogLevel } from './test-server';

/** Lets every principal write every document. */
export const allowAll: JoinAuthorizer = { authorizeJoin: async () => ({ ok: true, permission: 'write' }) };

const somebody: Principal = { kind: 'anonymous' };

export interface InProcessSync {
  rooms: RoomRegistry;
  store: DocStore;
  /** Every socket pair opened so far (one per client connection attempt), oldest first. */
  pairs: TestSocketPair[];
  /** A fresh document row; returns its id. */
  createDocument(): Promise<string>;
  /** A SyncClient whose sockets are in-process pairs (`autoFlush: false` to flush by hand). */
  client(options?: Partial<SyncClientOptions> & { autoFlush?: boolean }): SyncClient;
  /** Closes the clients, flushes and frees the rooms, stops the compactor. */
  close(): Promise<void>;
}

export function startInProcessSync(db: TestDatabase, options: { sync?: Partial<SyncOptions>; authorizer?: JoinAuthorizer; rooms?: Partial<RoomRegistryOptions> } = {}): InProcessSync {
  const log = createLogger(testLogLevel);
  const sync: SyncOptions = { ...defaultSyncOptions, ...options.sync };
  const compactor = new WorkerCompactor();
  const store = new DocStore(db.handle.db, new GroupLogWriter(db.handle.db), compactor);
  const rooms = new RoomRegistry({
    store,
    log,
    graceMs: sync.roomGraceMs,
    compactAfterUpdates: sync.compactAfterUpdates,
    compactAfterBytes: sync.compactAfterBytes,
    onCommit: () => {},
    onCommitted: () => {},
    onAccepted: () => {},
    onPresence: () => {},
    onOtherNodesEntry: () => {},
    presence: { maxEntryBytes: sync.maxPresenceEntryBytes, maxEntriesPerSocket: sync.maxPresenceEntriesPerSocket },
    ...options.rooms,
  });
  const deps = { rooms, authorizer: options.authorizer ?? allowAll, options: sync, log, checkSnapshot: compactor.checkSnapshot.bind(compactor) };
  const pairs: TestSocketPair[] = [];
  const clients: SyncClient[] = [];
  return {
    rooms,
    store,
    pairs,
    async createDocument() {
      const id = newDocumentId();
      await insertDocument(db.handle.db, id);
      return id;
    },
    client({ autoFlush = true, ...clientOptions } = {}) {
      class PairSocket {
        constructor() {
          const pair = new TestSocketPair({ autoFlush });
          pairs.push(pair);
          pair.open(new Connection(pair.serverSocket, somebody, deps));
          // biome-ignore lint/correctness/noConstructorReturn: `new WebSocket(url)` in the client must give it our in-process socket
          return pair.clientSocket;
        }
      }
      const client = new SyncClient({
        url: 'in-process',
        WebSocket: PairSocket as unknown as new (url: string) => WebSocketLike,
        backoff: { initialMs: 10, maxMs: 100, jitter: 0 },
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await rooms.flushAll();
      rooms.closeAll();
      await compactor.close();
    },
  };
}

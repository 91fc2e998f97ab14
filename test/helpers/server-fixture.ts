/**
 * The per-test server of an integration suite: a fresh database of the suite's backend and a
 * real Tandem server on it (port 0), started before each test and stopped after it, with the
 * clients the test made. Use it at the top of a `describe.each(backends)` block:
 *
 *   const fixture = useTestServer(backend, { roomGraceMs: 50 });
 *   it('…', async () => { const docId = await createDocument(fixture.server); … });
 */
import { afterEach, beforeEach } from 'vitest';
import type { SyncOptions } from '../../server/config';
import type { SyncClient, SyncClientOptions } from '../../shared/client/sync-client';
import type { Backend, TestDatabase } from './backends';
import { nodeSyncClient } from './clients';
import { startTestServer, type RunningServer } from './test-server';

export interface ServerFixture {
  /** This test's database. */
  readonly db: TestDatabase;
  /** This test's server (a new one after `restart`). */
  readonly server: RunningServer;
  /**
   * A sync client of this test's server, closed after the test. It authenticates as the
   * server's default owner unless given another `token`, or none (`token: null`).
   */
  client(options?: Partial<SyncClientOptions> & { token?: string | null }): SyncClient;
  /** Stops the server and starts another on the same database, with the same owner. */
  restart(sync?: Partial<SyncOptions>): Promise<RunningServer>;
  /** Runs `cleanup` after the test, before the server stops (clients of other kinds). */
  afterTest(cleanup: () => void | Promise<void>): void;
}

export function useTestServer(backend: Backend, sync: Partial<SyncOptions> = {}): ServerFixture {
  let db: TestDatabase | null = null;
  let server: RunningServer | null = null;
  const cleanups: (() => void | Promise<void>)[] = [];
  const current = <T>(value: T | null, what: string): T => {
    if (value === null) throw new Error(`the test server's ${what} exists only inside a test`);
    return value;
  };

  beforeEach(async () => {
    db = await backend.create();
    server = await startTestServer(db, sync);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await server?.close();
    await db?.drop();
    server = null;
    db = null;
  });

  return {
    get db() {
      return current(db, 'database');
    },
    get server() {
      return current(server, 'server');
    },
    client({ token, ...options } = {}) {
      const running = current(server, 'server');
      const owner = token === undefined ? running.token : token;
      const client = nodeSyncClient(running.wsUrl, { ...(owner ? { token: owner } : {}), ...options });
      cleanups.push(() => client.close());
      return client;
    },
    async restart(nextSync = {}) {
      const running = current(server, 'server');
      await running.close();
      server = await startTestServer(current(db, 'database'), nextSync, undefined, running.token);
      return server;
    },
    afterTest(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** A real Tandem server on a free port, in this process, on a test database. */
import { defaultSyncOptions, type Config, type SyncOptions } from '../../server/config';
import { createLogger, type LogLevel } from '../../server/logger';
import type { JoinAuthorizer } from '../../server/sync/authorizer';
import { createTandemServer, type TandemServer } from '../../server/tandem-server';
import type { TestDatabase } from './backends';

export interface RunningServer {
  server: TandemServer;
  port: number;
  httpUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

export const testLogLevel = (process.env.TANDEM_TEST_LOG_LEVEL ?? 'silent') as LogLevel;

export function testConfig(sync: Partial<SyncOptions> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    database: { kind: 'embedded', dataDir: '/nonexistent' }, // unused: tests pass the database in
    logLevel: testLogLevel,
    shutdownTimeoutMs: 5_000,
    exposeMetrics: true,
    sync: { ...defaultSyncOptions, ...sync },
  };
}

export async function startTestServer(
  db: TestDatabase,
  sync: Partial<SyncOptions> = {},
  authorizer?: JoinAuthorizer,
): Promise<RunningServer> {
  const server = await createTandemServer({
    config: testConfig(sync),
    database: db.handle,
    log: createLogger(testLogLevel),
    ...(authorizer ? { authorizer } : {}),
  });
  const port = await server.listen();
  return {
    server,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    close: () => server.close(),
  };
}

/** Creates a document through the API and returns its id. */
export async function createDocument(httpUrl: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/documents`, { method: 'POST' });
  if (res.status !== 201) throw new Error(`create document: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

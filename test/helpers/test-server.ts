/** A real Tandem server on a free port, in this process, on a test database. */
import { CHROME_EXTENSION_ID } from '../../shared/extension-id';
import type { Bus } from '../../server/cluster/bus';
import { defaultHttpOptions, defaultQuotas, defaultSyncOptions, type AuthOptions, type ClusterOptions, type Config, type HttpOptions, type Quotas, type SyncOptions } from '../../server/config';
import { createLogger, type Logger, type LogLevel } from '../../server/logger';
import type { JoinAuthorizer } from '../../server/sync/authorizer';
import { createTandemServer, type TandemServer } from '../../server/tandem-server';
import type { TestDatabase } from './backends';

export interface RunningServer {
  server: TandemServer;
  port: number;
  httpUrl: string;
  wsUrl: string;
  /** A read/write personal access token of a user created with the server (the default owner). */
  token: string;
  close(): Promise<void>;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** `tandem_session=…`, for a Cookie header. */
  cookie: string;
  /** A personal access token with the read and write scopes. */
  token: string;
}

let userCounter = 0;

/** Signs up a user through the API and gives them a read/write token. */
export async function signUp(httpUrl: string, email = `user${++userCounter}-${Date.now()}@example.test`, password = 'correct horse battery'): Promise<TestUser> {
  const res = await fetch(`${httpUrl}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 201) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
  const { user } = (await res.json()) as { user: { id: string } };
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const tokenRes = await fetch(`${httpUrl}/api/me/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: httpUrl },
    body: JSON.stringify({ name: 'tests', scopes: ['read', 'write'] }),
  });
  if (tokenRes.status !== 201) throw new Error(`token: ${tokenRes.status} ${await tokenRes.text()}`);
  const { token } = (await tokenRes.json()) as { token: string };
  return { id: user.id, email, password, cookie, token };
}

/** A Chrome extension id the test servers accept as an origin. */
export const TEST_EXTENSION_ID = 'abcdefghijklmnopabcdefghijklmnop';

export const testLogLevel = (process.env.TANDEM_TEST_LOG_LEVEL ?? 'silent') as LogLevel;

export function testConfig(sync: Partial<SyncOptions> = {}, auth: Partial<AuthOptions> = {}): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    database: { kind: 'embedded', dataDir: '/nonexistent' }, // unused: tests pass the database in
    logLevel: testLogLevel,
    dataDir: '/nonexistent',
    shutdownTimeoutMs: 5_000,
    metricsAddress: null,
    // Cheap password hashing, and no sign-up throttle: tests sign up many users from one address.
    auth: {
      publicUrl: null,
      trustProxy: false,
      proxyHops: 1,
      extensionIds: [TEST_EXTENSION_ID, CHROME_EXTENSION_ID],
      passwordCost: 10,
      adminEmail: null,
      adminPassword: null,
      signUp: 'open',
      signUpsPerAddressPerHour: 1_000_000,
      hashConcurrency: 2,
      hashQueue: 1_000,
      sessionMaxAgeMs: 90 * 24 * 3600 * 1000,
      ...auth,
    },
    cluster: { bus: 'local', redisUrl: null, nodes: 1, headCheckMs: 5_000, channel: 'tandem' },
    sync: { ...defaultSyncOptions, ...sync },
    http: defaultHttpOptions,
    quotas: defaultQuotas,
  };
}

export async function startTestServer(
  db: TestDatabase,
  sync: Partial<SyncOptions> = {},
  authorizer?: JoinAuthorizer,
  /** A token of an existing user (a restart on the same database keeps its owner). */
  token?: string,
  auth: Partial<AuthOptions> = {},
  node: {
    bus?: Bus;
    cluster?: Partial<ClusterOptions>;
    shutdownTimeoutMs?: number;
    http?: Partial<HttpOptions>;
    quotas?: Partial<Quotas>;
    metricsAddress?: Config['metricsAddress'];
    log?: Logger;
  } = {},
): Promise<RunningServer> {
  const config = testConfig(sync, auth);
  const server = await createTandemServer({
    config: {
      ...config,
      metricsAddress: node.metricsAddress ?? null,
      shutdownTimeoutMs: node.shutdownTimeoutMs ?? config.shutdownTimeoutMs,
      cluster: { ...config.cluster, ...node.cluster },
      http: { ...config.http, ...node.http },
      quotas: { ...config.quotas, ...node.quotas },
    },
    database: db.handle,
    log: node.log ?? createLogger(testLogLevel),
    ...(authorizer ? { authorizer } : {}),
    ...(node.bus ? { bus: node.bus } : {}),
  });
  const port = await server.listen();
  const httpUrl = `http://127.0.0.1:${port}`;
  return {
    server,
    port,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    token: token ?? (await signUp(httpUrl)).token,
    close: () => server.close(),
  };
}

/** Creates a document through the API (as the holder of `token`) and returns its id. */
export async function createDocument(server: { httpUrl: string; token: string }, body: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${server.httpUrl}/api/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create document: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Creates a share link (`view` or `edit`) as the holder of `token`; returns its token and URL. */
export async function createShareLink(server: { httpUrl: string; token: string }, docId: string, access: 'view' | 'edit'): Promise<{ id: string; token: string; url: string }> {
  const res = await fetch(`${server.httpUrl}/api/documents/${docId}/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ access }),
  });
  if (res.status !== 201) throw new Error(`share link: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; token: string; url: string };
}

/**
 * An edit link to the document the holder of `token` started on the page `pageUrl` (what the
 * extension's "copy link" gives; tests ask the API, as that person). Throws when there is none.
 */
export async function editLinkToPage(server: { httpUrl: string }, token: string, pageUrl: string): Promise<{ id: string; url: string }> {
  const res = await fetch(`${server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } });
  const { documents } = (await res.json()) as { documents: { id: string; originUrl: string | null }[] };
  const doc = documents.find((d) => d.originUrl === pageUrl);
  if (!doc) throw new Error(`no document started on ${pageUrl}`);
  const { url } = await createShareLink({ httpUrl: server.httpUrl, token }, doc.id, 'edit');
  return { id: doc.id, url };
}

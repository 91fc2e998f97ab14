/**
 * The smaller weaknesses of issue 18 ("Low"): cookie names over HTTPS, origin URLs, HSTS,
 * Host spoofing, the first admin's password, the bus channel, display names, and sessions
 * without an end. Each test failed on the code before.
 */
import { request } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresBus } from '../../server/cluster/postgres-bus';
import type { BusMessage } from '../../server/cluster/bus';
import { createLogger, type Logger } from '../../server/logger';
import { createTandemServer } from '../../server/tandem-server';
import { ApiClient } from '../helpers/api-client';
import { backends, postgresBackend, type TestDatabase } from '../helpers/backends';
import { createDocument, startTestServer, testConfig, type RunningServer } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';

let counter = 0;
const freshEmail = () => `hard${++counter}-${Date.now()}@example.test`;

/** An HTTP request with any Host header (fetch will not send one of our choosing). */
function raw(url: string, options: { method?: string; host: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: u.hostname, port: u.port, path: u.pathname, method: options.method ?? 'GET', headers: { ...options.headers, host: options.host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.each(backends)('hardening ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let proxied: RunningServer;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    proxied = await startTestServer(db, {}, undefined, server.token, { trustProxy: true });
  });

  afterAll(async () => {
    await proxied.close();
    await server.close();
    await db.drop();
  });

  it('over HTTPS accepts only the __Host- session cookie, and sends HSTS', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const signup = await fetch(`${proxied.httpUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { ...https, 'content-type': 'application/json', origin: proxied.httpUrl.replace('http:', 'https:') },
      body: JSON.stringify({ email: freshEmail(), password: 'correct horse battery' }),
    });
    expect(signup.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const token = signup.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!;
    const me = (cookie: string) => fetch(`${proxied.httpUrl}/api/me`, { headers: { ...https, cookie } });
    expect((await me(`__Host-tandem_session=${token}`)).status).toBe(200);
    // A plain-named cookie may have been planted over HTTP or by a sibling subdomain.
    expect((await me(`tandem_session=${token}`)).status).toBe(401);
    expect((await fetch(`${server.httpUrl}/healthz`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('keeps only http(s) origin URLs', async () => {
    const api = new ApiClient(server.httpUrl, { token: server.token, origin: null });
    for (const originUrl of ['javascript:alert(document.cookie)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd', 'JaVaScRiPt://x/%0aalert(1)']) {
      const res = await api.post('/api/documents', { originUrl });
      expect([res.status, res.body.error?.code], originUrl).toEqual([400, 'invalid_request']);
    }
    const ok = await api.post('/api/documents', { originUrl: 'https://mail.example/compose' });
    expect([ok.status, ok.body.originUrl]).toEqual([201, 'https://mail.example/compose']);
    // A row written before the rule is never handed out.
    await db.handle.db.updateTable('documents').set({ origin_url: 'javascript:alert(1)' }).where('id', '=', ok.body.id).execute();
    expect((await api.get(`/api/documents/${ok.body.id}`)).body.originUrl).toBeNull();
  });

  it('builds share links from its own origin, and refuses the session cookie on other Hosts', async () => {
    const docId = await createDocument(server);
    const link = await raw(`${server.httpUrl}/api/documents/${docId}/links`, {
      method: 'POST',
      host: 'evil.example',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access: 'view' }),
    });
    expect(link.status).toBe(201);
    expect(JSON.parse(link.body).url).toMatch(new RegExp(`^${server.httpUrl}/d/${docId}#sh_`));

    const client = new ApiClient(server.httpUrl);
    await client.signUp(freshEmail());
    expect((await raw(`${server.httpUrl}/api/me`, { host: `127.0.0.1:${server.port}`, headers: { cookie: client.cookie! } })).status).toBe(200);
    expect((await raw(`${server.httpUrl}/api/me`, { host: `localhost:${server.port}`, headers: { cookie: client.cookie! } })).status).toBe(200);
    const rebound = await raw(`${server.httpUrl}/api/me`, { host: `rebind.example:${server.port}`, headers: { cookie: client.cookie! } });
    expect([rebound.status, JSON.parse(rebound.body).error.code]).toEqual([421, 'unknown_host']);
    const login = await raw(`${server.httpUrl}/api/auth/login`, {
      method: 'POST',
      host: `rebind.example:${server.port}`,
      headers: { 'content-type': 'application/json', origin: `http://rebind.example:${server.port}` },
      body: JSON.stringify({ email: 'a@example.test', password: 'whatever whatever' }),
    });
    expect(login.status).toBe(421);
  });

  it('never logs a generated administrator password', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tandem-admin-'));
    const records: string[] = [];
    const capture = (base: Record<string, unknown> = {}): Logger => {
      const emit = (event: string, fields?: Record<string, unknown>) => records.push(JSON.stringify({ event, ...base, ...fields }));
      return { debug: emit, info: emit, warn: emit, error: emit, child: (fields) => capture({ ...base, ...fields }) };
    };
    const email = freshEmail();
    const config = testConfig({}, { adminEmail: email });
    const node = await createTandemServer({ config: { ...config, dataDir }, database: db.handle, log: capture(), terminal: null });
    try {
      const port = await node.listen();
      const file = join(dataDir, 'admin-password.txt');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const password = /password (\S+)/.exec(await readFile(file, 'utf8'))![1]!;
      expect(records.join('\n')).not.toContain(password);
      expect(records.join('\n')).toContain(file);
      expect((await new ApiClient(`http://127.0.0.1:${port}`).post('/api/auth/login', { email, password })).status).toBe(200);
    } finally {
      await node.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses display names with control, bidi and zero-width characters, and normalises them', async () => {
    for (const displayName of ['Ad\u202Emin', 'Ad\u200Bmin', 'Ad\u0000min', 'Line\u2028break', 'Bell\u0007']) {
      const res = await new ApiClient(server.httpUrl).post('/api/auth/signup', { email: freshEmail(), password: 'correct horse battery', displayName });
      expect([res.status, res.body.error.code], JSON.stringify(displayName)).toEqual([400, 'invalid_request']);
    }
    const res = await new ApiClient(server.httpUrl).post('/api/auth/signup', { email: freshEmail(), password: 'correct horse battery', displayName: 'Rene\u0301' });
    expect(res.body.user.displayName).toBe('Ren\u00e9');
  });

  it('ends a session 90 days after sign-in however much it is used', async () => {
    const client = new ApiClient(server.httpUrl);
    const user = await client.signUp(freshEmail());
    // Used all along (expiry pushed forward), but started 91 days ago.
    await db.handle.db
      .updateTable('sessions')
      .set({ created_at: new Date(Date.now() - 91 * 24 * 3600 * 1000), expires_at: new Date(Date.now() + 20 * 24 * 3600 * 1000) })
      .where('user_id', '=', user.id)
      .execute();
    expect((await client.get('/api/me')).status).toBe(401);
  });
});

describe.skipIf(!postgresBackend)('bus channel', () => {
  it('keeps deployments that share a Postgres apart', async () => {
    const db = await postgresBackend!.create();
    const url = (db.reopen as { url: string }).url;
    const log = createLogger('silent');
    const buses = [
      new PostgresBus('a1', { url, db: db.handle.db, log, channel: 'tandem_a' }),
      new PostgresBus('b1', { url, db: db.handle.db, log, channel: 'tandem_b' }),
      new PostgresBus('a2', { url, db: db.handle.db, log, channel: 'tandem_a' }),
      new PostgresBus('b2', { url, db: db.handle.db, log, channel: 'tandem_b' }),
    ] as const;
    try {
      await Promise.all(buses.map((b) => b.start()));
      const heard = buses.map(() => [] as BusMessage[]);
      buses.forEach((b, i) => b.onMessage((m) => heard[i]!.push(m)));
      const message = (node: string, docId: string): BusMessage => ({ type: 'doorbell', node, heads: [[docId, 1]] });
      buses[0].publish(message('a1', 'a'.repeat(26)));
      await waitFor(() => heard[2]!.length === 1, { what: 'the same deployment to hear it' });
      // Notifications arrive in commit order: had b2 heard a1, it would have heard it before this.
      buses[1].publish(message('b1', 'b'.repeat(26)));
      await waitFor(() => heard[3]!.length >= 1, { what: 'the other deployment to hear its own' });
      expect(heard[3]).toEqual([message('b1', 'b'.repeat(26))]);
      expect(heard[2]).toEqual([message('a1', 'a'.repeat(26))]);
    } finally {
      await Promise.all(buses.map((b) => b.close()));
      await db.drop();
    }
  });
});

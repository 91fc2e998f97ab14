/**
 * The server log (issue 20, item 2): a real server at debug level, used with a password (right,
 * wrong, changed), a session cookie, personal access tokens (good and bad), a share link and a
 * sync ticket (used, then replayed); then the captured log is searched for each secret: none
 * may be there. Every HTTP request (and /sync upgrade) has its access line, without query
 * strings; a failed sign-in is logged with its reason and address; a 500 with its stack.
 */
import { randomBytes } from 'node:crypto';
import { LoroDoc } from 'loro-crdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open-database';
import { createLogger } from '../../server/logger';
import { MessageType, UpdateStatus } from '../../shared/protocol/index';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { appendEdit } from '../helpers/traces';
import { startTestServer, type RunningServer } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';

interface Line {
  level: string;
  event: string;
  [field: string]: unknown;
}

/** A logger like production's (pino, redaction and all), writing into `lines`. */
function capturedLog(lines: string[]) {
  return createLogger('debug', { pid: process.pid }, { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) });
}

describe.each(backends)('logging ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  const lines: string[] = [];
  const records = (): Line[] => lines.map((l) => JSON.parse(l) as Line);
  /** Every HTTP request this test makes (not the upgrades), by method and path. */
  let requests = 0;
  const call = (path: string, init: RequestInit = {}): Promise<Response> => {
    requests += 1;
    return fetch(`${server.httpUrl}${path}`, { redirect: 'manual', ...init });
  };
  const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.httpUrl, ...headers },
    body: JSON.stringify(body),
  });

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db, {}, undefined, 'tnd_unused', {}, { log: capturedLog(lines) });
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('keeps every secret it was given out of the log, and writes an access line per request', async () => {
    const email = `logged-${Date.now()}@example.test`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;
    const newPassword = `new-${randomBytes(12).toString('hex')}`;
    const badToken = `tnd_${'a'.repeat(32)}`;

    const signedUp = await call('/api/auth/signup', json({ email, password }));
    expect(signedUp.status).toBe(201);
    expect((await call('/api/auth/login', json({ email, password: wrongPassword }))).status).toBe(401);
    const signedIn = await call('/api/auth/login', json({ email, password }));
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const sessionSecret = cookie.split('=')[1]!;
    const created = await call('/api/me/tokens', json({ name: 'logged', scopes: ['read', 'write'] }, { cookie }));
    const { token } = (await created.json()) as { token: string };
    expect((await call('/api/me', { headers: { cookie } })).status).toBe(200);
    expect((await call('/api/documents', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await call('/api/documents', { headers: { authorization: `Bearer ${badToken}` } })).status).toBe(401);
    expect((await call('/login?next=%2Faccount%3Fsecret%3Dquery')).status).toBe(200);

    // A document, edited over a token's socket; a share link to it, used by a stranger.
    const doc = await call('/api/documents', json({ title: 'logged' }, { authorization: `Bearer ${token}` }));
    const docId = ((await doc.json()) as { id: string }).id;
    const link = await call(`/api/documents/${docId}/links`, json({ access: 'edit' }, { authorization: `Bearer ${token}` }));
    const share = ((await link.json()) as { token: string }).token;
    expect((await call(`/api/documents/${docId}/open`, json({ share }))).status).toBe(200);
    const writer = await RawPeer.connect(server.wsUrl, token);
    expect((await writer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    expect((await writer.ackFor(writer.update(docId, [appendEdit(new LoroDoc(), 'hello')]))).status).toBe(UpdateStatus.Ok);
    const stranger = await RawPeer.connect(server.wsUrl);
    expect((await stranger.joinAndWait(docId, { share })).type).toBe(MessageType.JoinResponseOk);
    const wrongShare = await RawPeer.connect(server.wsUrl);
    expect((await wrongShare.joinAndWait(docId, { share: `${share}x` })).type).toBe(MessageType.JoinError);

    // A sync ticket, used once, then replayed (refused, and logged as such).
    const ticketed = await call('/api/sync-tickets', json({}, { cookie }));
    expect(ticketed.status).toBe(201);
    const { ticket } = (await ticketed.json()) as { ticket: string };
    const byTicket = await RawPeer.connect(`${server.wsUrl}?ticket=${ticket}`);
    expect((await byTicket.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    const replayed = await RawPeer.connect(`${server.wsUrl}?ticket=${ticket}`);
    expect((await replayed.closed()).code).toBe(4401);
    const byBadToken = await RawPeer.connect(server.wsUrl, badToken);
    await byBadToken.closed();

    expect((await call('/api/me/password', json({ currentPassword: password, newPassword }, { cookie }))).status).toBe(204);
    const upgrades = 6;
    for (const peer of [writer, stranger, wrongShare, byTicket]) peer.close();
    await Promise.all([writer, stranger, wrongShare, byTicket].map((p) => p.closed()));

    await waitFor(() => records().filter((r) => r.event === 'http.request').length === requests + upgrades, { what: 'an access line per request' });
    const log = lines.join('\n');
    for (const [name, secret] of Object.entries({ password, wrongPassword, newPassword, sessionSecret, token, badToken, share, ticket })) {
      expect(log.includes(secret), `${name} is in the log`).toBe(false);
    }
    expect(log).not.toContain('secret=query');
    expect(log).not.toContain('?ticket');

    const access = records().filter((r) => r.event === 'http.request');
    for (const line of access) {
      expect(line).toMatchObject({ method: expect.any(String), status: expect.any(Number), ms: expect.any(Number), address: '127.0.0.1' });
      expect('route' in line && 'userId' in line).toBe(true);
    }
    expect(
      access
        .filter((r) => r.route === '/sync')
        .map((r) => r.status)
        .sort(),
    ).toEqual([101, 101, 101, 101, 101, 101]);
    const user = ((await signedUp.json()) as { user: { id: string } }).user;
    expect(access).toContainEqual(expect.objectContaining({ method: 'GET', route: '/api/me', status: 200, userId: user.id }));
    // Refused before routing (authenticate.ts): no route matched yet, so the path stands in.
    expect(access).toContainEqual(expect.objectContaining({ method: 'GET', route: null, path: '/api/documents', status: 401, userId: null }));
    expect(access).toContainEqual(expect.objectContaining({ method: 'POST', route: '/api/documents/:docId/links', status: 201, userId: user.id }));
    expect(access).toContainEqual(expect.objectContaining({ method: 'GET', route: '/login', status: 200 }));
    expect(records()).toContainEqual(expect.objectContaining({ level: 'info', event: 'auth.sign_in_failed', reason: 'wrong_password', email, address: '127.0.0.1' }));
    expect(records()).toContainEqual(expect.objectContaining({ event: 'sync.upgrade_unauthenticated', reason: 'invalid_ticket', address: '127.0.0.1' }));
  });

  it('logs a 500 with its stack', async () => {
    // A server whose database is gone: the next request that needs it fails unexpectedly.
    const doomed = await openDatabase(db.reopen);
    const own: string[] = [];
    const broken = await startTestServer({ ...db, handle: doomed }, {}, undefined, 'tnd_unused', {}, { log: capturedLog(own) });
    try {
      await doomed.close();
      const res = await fetch(`${broken.httpUrl}/api/auth/login`, json({ email: 'x@example.test', password: 'whatever password' }, { origin: broken.httpUrl }));
      expect(res.status).toBe(500);
      expect(await res.text()).not.toMatch(/at .*\.ts/);
      const failed = own.map((l) => JSON.parse(l) as Line).find((r) => r.event === 'http.unhandled');
      expect(failed).toMatchObject({ level: 'error', method: 'POST', route: '/api/auth/login' });
      expect((failed!.error as { stack?: string }).stack).toMatch(/\n\s+at /);
      expect(own.map((l) => JSON.parse(l) as Line)).toContainEqual(expect.objectContaining({ event: 'http.request', route: '/api/auth/login', status: 500 }));
    } finally {
      await broken.close();
    }
  });
});

/**
 * Accounts, sessions, tokens and the origin policy, through the REST API and the pages, with
 * the attacks the issue lists: each gets the right status and code and leaves no trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_FAILURES_PER_PAIR, MAX_FAILURES_PER_IP } from '../../server/auth/login-throttle';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { TEST_EXTENSION_ID, startTestServer, type RunningServer } from '../helpers/test-server';
import { userCount } from '../helpers/stored';

let counter = 0;
const freshEmail = () => `person${++counter}-${Date.now()}@example.test`;

describe.each(backends)('accounts ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let api: ApiClient;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    api = new ApiClient(server.httpUrl);
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('signs up with an HttpOnly, SameSite=Lax session cookie (only its hash stored)', async () => {
    const client = new ApiClient(server.httpUrl);
    const res = await client.post('/api/auth/signup', { email: freshEmail(), password: 'long enough pw', displayName: 'Ada' });
    expect(res.status).toBe(201);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^tandem_session=[a-z2-7]{32}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect((await client.get('/api/me')).body.user).toMatchObject({ displayName: 'Ada', isAdmin: false });
    const token = client.cookie!.split('=')[1]!;
    const stored = await db.handle.db.selectFrom('sessions').select('id').execute();
    expect(stored.some((s) => s.id === token)).toBe(false);
    expect(stored.every((s) => /^[0-9a-f]{64}$/.test(s.id))).toBe(true);
  });

  it('uses __Host- and Secure behind a TLS proxy', async () => {
    const proxied = await startTestServer(db, {}, undefined, server.token, { trustProxy: true });
    try {
      const res = await fetch(`${proxied.httpUrl}/api/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', origin: proxied.httpUrl.replace('http:', 'https:') },
        body: JSON.stringify({ email: freshEmail(), password: 'long enough pw' }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('set-cookie')).toMatch(/^__Host-tandem_session=[a-z2-7]{32}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    } finally {
      await proxied.close();
    }
  });

  it('refuses bad sign-ups with named errors and stores nothing', async () => {
    const before = await userCount(db.handle.db);
    const email = freshEmail();
    expect((await api.post('/api/auth/signup', { email, password: 'long enough pw' })).status).toBe(201);
    const cases: [unknown, number, string][] = [
      [{ email, password: 'long enough pw' }, 409, 'email_taken'],
      [{ email: 'not-an-email', password: 'long enough pw' }, 400, 'invalid_request'],
      [{ email: freshEmail(), password: 'short' }, 400, 'invalid_request'],
      [{ email: freshEmail(), password: 'long enough pw', isAdmin: true }, 400, 'invalid_request'],
      [{ email: `${"'; drop table users; --".repeat(3)}@x.test`, password: 'long enough pw' }, 400, 'invalid_request'],
      [{ email: `${'a'.repeat(300)}@example.test`, password: 'long enough pw' }, 400, 'invalid_request'],
      [{ email: freshEmail(), password: 'x'.repeat(5000) }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const res = await new ApiClient(server.httpUrl).post('/api/auth/signup', body);
      expect([res.status, res.body.error.code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
    }
    const malformed = await new ApiClient(server.httpUrl).request('POST', '/api/auth/signup', '{"email": ');
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'invalid_json']);
    const huge = await new ApiClient(server.httpUrl).request('POST', '/api/auth/signup', JSON.stringify({ email: 'x', password: 'y'.repeat(3 * 1024 * 1024) }));
    expect([huge.status, huge.body.error.code]).toEqual([413, 'payload_too_large']);
    expect(await userCount(db.handle.db)).toBe(before + 1);
  });

  it('answers a wrong password and an unknown account the same way', async () => {
    const email = freshEmail();
    await new ApiClient(server.httpUrl).signUp(email);
    const wrong = await new ApiClient(server.httpUrl).post('/api/auth/login', { email, password: 'not the password' });
    const unknown = await new ApiClient(server.httpUrl).post('/api/auth/login', { email: freshEmail(), password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.body).toEqual({ error: { code: 'invalid_credentials', message: 'wrong email or password' } });
    const ok = new ApiClient(server.httpUrl);
    expect((await ok.post('/api/auth/login', { email: email.toUpperCase(), password: 'correct horse battery' })).status).toBe(200);
    expect((await ok.get('/api/me')).status).toBe(200);
  });

  it('throttles password guessing per account and address, even for the right password', async () => {
    const email = freshEmail();
    await new ApiClient(server.httpUrl).signUp(email);
    for (let i = 0; i < FREE_FAILURES_PER_PAIR; i++) {
      expect((await new ApiClient(server.httpUrl).post('/api/auth/login', { email, password: `guess ${i}` })).status).toBe(401);
    }
    const blocked = await new ApiClient(server.httpUrl).post('/api/auth/login', { email, password: 'correct horse battery' });
    expect([blocked.status, blocked.body.error.code]).toEqual([429, 'too_many_attempts']);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('set-cookie')).toBeNull();
  });

  it('throttles guessing per address across accounts', async () => {
    const throttled = await startTestServer(db, {}, undefined, server.token, { trustProxy: true });
    try {
      const from = (ip: string) => ({ 'x-forwarded-for': ip, origin: throttled.httpUrl, 'content-type': 'application/json' });
      const email = freshEmail();
      await new ApiClient(throttled.httpUrl).signUp(email);
      for (let i = 0; i < MAX_FAILURES_PER_IP; i++) {
        const res = await fetch(`${throttled.httpUrl}/api/auth/login`, {
          method: 'POST',
          headers: from('203.0.113.7'),
          body: JSON.stringify({ email: `spray${i}@example.test`, password: 'guess guess' }),
        });
        expect(res.status).toBe(401);
      }
      const body = JSON.stringify({ email, password: 'correct horse battery' });
      const blocked = await fetch(`${throttled.httpUrl}/api/auth/login`, { method: 'POST', headers: from('203.0.113.7'), body });
      expect(blocked.status).toBe(429);
      const elsewhere = await fetch(`${throttled.httpUrl}/api/auth/login`, { method: 'POST', headers: from('198.51.100.9'), body });
      expect(elsewhere.status).toBe(200);
    } finally {
      await throttled.close();
    }
  });

  it('signs out, and refuses forged, revoked and expired cookies', async () => {
    const client = new ApiClient(server.httpUrl);
    await client.signUp(freshEmail());
    const cookie = client.cookie!;
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    const replay = new ApiClient(server.httpUrl);
    replay.cookie = cookie;
    const afterLogout = await replay.get('/api/me');
    expect([afterLogout.status, afterLogout.body.error.code]).toEqual([401, 'unauthenticated']);
    expect(afterLogout.headers.get('set-cookie')).toMatch(/^tandem_session=; .*Max-Age=0/);

    const forged = new ApiClient(server.httpUrl);
    forged.cookie = 'tandem_session=abcdefghijklmnopqrstuvwxyz234567';
    expect((await forged.get('/api/me')).status).toBe(401);

    const expiring = new ApiClient(server.httpUrl);
    const user = await expiring.signUp(freshEmail());
    await db.handle.db
      .updateTable('sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.id)
      .execute();
    // Validations are cached for a few seconds; the expiry check runs on cached entries too.
    expect((await expiring.get('/api/me')).status).toBe(401);
  });

  it('changes a password and signs out the other sessions', async () => {
    const email = freshEmail();
    const here = new ApiClient(server.httpUrl);
    await here.signUp(email);
    const elsewhere = new ApiClient(server.httpUrl);
    await elsewhere.post('/api/auth/login', { email, password: 'correct horse battery' });
    const wrong = await here.post('/api/me/password', { currentPassword: 'nope nope nope', newPassword: 'brand new password' });
    expect([wrong.status, wrong.body.error.code]).toEqual([403, 'invalid_credentials']);
    expect((await here.post('/api/me/password', { currentPassword: 'correct horse battery', newPassword: 'brand new password' })).status).toBe(204);
    expect((await here.get('/api/me')).status).toBe(200);
    expect((await elsewhere.get('/api/me')).status).toBe(401);
    expect((await new ApiClient(server.httpUrl).post('/api/auth/login', { email, password: 'brand new password' })).status).toBe(200);
  });

  it('lists and revokes my sessions, and not anyone else’s', async () => {
    const email = freshEmail();
    const a = new ApiClient(server.httpUrl);
    await a.signUp(email);
    const b = new ApiClient(server.httpUrl);
    await b.post('/api/auth/login', { email, password: 'correct horse battery' });
    const { sessions } = (await a.get('/api/me/sessions')).body;
    expect(sessions).toHaveLength(2);
    const other = sessions.find((s: { current: boolean }) => !s.current);
    const stranger = new ApiClient(server.httpUrl);
    await stranger.signUp(freshEmail());
    expect((await stranger.delete(`/api/me/sessions/${other.id}`)).status).toBe(404);
    expect((await b.get('/api/me')).status).toBe(200);
    expect((await a.delete(`/api/me/sessions/${other.id}`)).status).toBe(204);
    expect((await b.get('/api/me')).status).toBe(401);
  });

  it('issues scoped personal access tokens, shown once, revocable', async () => {
    const owner = new ApiClient(server.httpUrl);
    await owner.signUp(freshEmail());
    const created = await owner.post('/api/me/tokens', { name: 'ci', scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^tnd_[a-z2-7]{32}$/);
    const listed = (await owner.get('/api/me/tokens')).body.tokens;
    expect(listed).toEqual([expect.objectContaining({ id: created.body.id, name: 'ci', scopes: ['read'] })]);
    expect(JSON.stringify(listed)).not.toContain(created.body.token);

    const script = new ApiClient(server.httpUrl, { token: created.body.token, origin: null });
    expect((await script.get('/api/documents')).status).toBe(200);
    const denied = await script.post('/api/documents', { title: 'x' });
    expect([denied.status, denied.body.error.code]).toEqual([403, 'insufficient_scope']);
    const escalate = await script.post('/api/me/tokens', { name: 'more', scopes: ['read', 'write'] });
    expect(escalate.status).toBe(403);
    const adminScope = await owner.post('/api/me/tokens', { name: 'admin', scopes: ['admin'] });
    expect([adminScope.status, adminScope.body.error.code]).toEqual([403, 'forbidden']);

    expect((await owner.delete(`/api/me/tokens/${created.body.id}`)).status).toBe(204);
    const revoked = await script.get('/api/documents');
    expect([revoked.status, revoked.body.error.code]).toEqual([401, 'invalid_token']);
    const garbage = await new ApiClient(server.httpUrl, { token: 'tnd_nope' }).get('/api/me');
    expect([garbage.status, garbage.body.error.code]).toEqual([401, 'invalid_token']);
  });

  it('refuses cookie-authenticated changes from foreign origins (CSRF), and accepts extensions', async () => {
    const client = new ApiClient(server.httpUrl);
    await client.signUp(freshEmail());
    const before = Number(
      (
        await db.handle.db
          .selectFrom('documents')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    for (const origin of ['https://evil.example', 'null', `chrome-extension://${'b'.repeat(32)}`]) {
      const res = await client.with({ origin }).post('/api/documents', { title: 'csrf' });
      expect([res.status, res.body.error.code], origin).toEqual([403, 'bad_origin']);
    }
    const noOrigin = await client.with({ origin: null }).post('/api/documents', { title: 'csrf' });
    expect([noOrigin.status, noOrigin.body.error.code]).toEqual([403, 'bad_origin']);
    const after = Number(
      (
        await db.handle.db
          .selectFrom('documents')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(after).toBe(before);
    // Login CSRF: a foreign page cannot sign the browser in to an account of its choosing.
    const loginCsrf = await new ApiClient(server.httpUrl, { origin: 'https://evil.example' }).post('/api/auth/login', { email: 'a@b.test', password: 'whatever' });
    expect(loginCsrf.status).toBe(403);

    for (const origin of [server.httpUrl, `chrome-extension://${TEST_EXTENSION_ID}`, 'moz-extension://0f0e0d0c-0b0a-4908-8706-050403020100']) {
      expect((await client.with({ origin }).post('/api/documents', { title: 'ok' })).status, origin).toBe(201);
    }
  });

  it('serves pages with security headers, and forms that sign in without scripts', async () => {
    const page = await fetch(`${server.httpUrl}/login`);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(await page.text()).toContain('<label for="password">Password</label>');

    const email = freshEmail();
    await new ApiClient(server.httpUrl).signUp(email);
    const form = (body: Record<string, string>, origin = server.httpUrl) =>
      fetch(`${server.httpUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams(body),
      });
    const bad = await form({ email, password: 'wrong wrong', next: '/account' });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('role="alert"');
    const good = await form({ email, password: 'correct horse battery', next: 'https://evil.example/' });
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/account'); // no open redirect
    const cookie = good.headers.get('set-cookie')!.split(';')[0]!;
    const account = await fetch(`${server.httpUrl}/account`, { headers: { cookie } });
    expect(account.status).toBe(200);
    expect(await account.text()).toContain(email);
    expect((await form({ email, password: 'correct horse battery' }, 'https://evil.example')).status).toBe(403);
  });

  it('publishes an OpenAPI document generated from the same schemas', async () => {
    const res = await api.get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const signup = res.body.paths['/api/auth/signup'].post;
    expect(signup.requestBody.content['application/json'].schema.required).toEqual(['email', 'password']);
    expect(signup.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/api/documents/{docId}/links', '/api/admin/audit', '/api/sync-tickets']));
  });
});

/**
 * Accounts under attack (issue 18, items 4–7 and the account-related low items): sign-up
 * floods, password guessing through a proxy, locking others out, credentials that outlive a
 * disable, weak passwords. Each test failed on the code before the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrdtType, MessageType } from '../../shared/protocol/index';
import { FREE_FAILURES_PER_PAIR, MAX_FAILURES_PER_IP, pairKey } from '../../server/auth/login-throttle';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, createShareLink, startTestServer, type RunningServer } from '../helpers/test-server';
import { userCount } from '../helpers/stored';

let counter = 0;
const freshEmail = () => `abuse${++counter}-${Date.now()}@example.test`;
const PASSWORD = 'correct horse battery';

describe.each(backends)('account abuse ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  /** Behind one trusted proxy: the test picks the address the proxy appends. */
  let proxied: RunningServer;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    proxied = await startTestServer(db, {}, undefined, server.token, { trustProxy: true, signUpsPerAddressPerHour: 5 });
  });

  afterAll(async () => {
    await proxied.close();
    await server.close();
    await db.drop();
  });

  const post = (base: RunningServer, path: string, body: unknown, address: string, spoofed = '198.51.100.66') =>
    fetch(`${base.httpUrl}${path}`, {
      method: 'POST',
      // What a client wrote, then what our proxy appended: only the latter is the client.
      headers: { 'content-type': 'application/json', origin: base.httpUrl, 'x-forwarded-for': `${spoofed}, ${address}` },
      body: JSON.stringify(body),
    });

  it('throttles sign-ups per address, counting concurrent ones (item 4)', async () => {
    const before = await userCount(db.handle.db);
    const results = await Promise.all(Array.from({ length: 40 }, () => post(proxied, '/api/auth/signup', { email: freshEmail(), password: PASSWORD }, '203.0.113.40')));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    const refused = results.find((r) => r.status === 429)!;
    expect((await refused.json()).error.code).toBe('too_many_signups');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await userCount(db.handle.db)).toBe(before + 5);
    // Another address is not affected.
    expect((await post(proxied, '/api/auth/signup', { email: freshEmail(), password: PASSWORD }, '203.0.113.41')).status).toBe(201);
  });

  it('checks a sign-in before sign-ups that were queued first (item 4)', async () => {
    // One hash at a time, each slow enough (2^14) that twenty sign-ups form a queue.
    const slow = await startTestServer(db, {}, undefined, server.token, { trustProxy: true, passwordCost: 14, hashConcurrency: 1 });
    let signUps: Promise<number>[] = [];
    try {
      const email = freshEmail();
      expect((await post(slow, '/api/auth/signup', { email, password: PASSWORD }, '203.0.113.50')).status).toBe(201);
      let signUpsDone = 0;
      let firstDone!: () => void;
      const first = new Promise<void>((resolve) => (firstDone = resolve));
      signUps = Array.from({ length: 20 }, (_, i) =>
        post(slow, '/api/auth/signup', { email: freshEmail(), password: PASSWORD }, `203.0.113.${60 + i}`).then((r) => {
          signUpsDone += 1;
          firstDone();
          return r.status;
        }),
      );
      await first; // the others are queued or running now
      const login = await post(slow, '/api/auth/login', { email, password: PASSWORD }, '203.0.113.51');
      expect(login.status).toBe(200);
      // In arrival order the sign-in would wait for all twenty. It waits for the hash running
      // when it arrived and, on a busy machine, for the few that started while its request was
      // on its way: most of the queue is still waiting when it is answered.
      expect(signUpsDone).toBeLessThanOrEqual(10);
      expect(await Promise.all(signUps)).toEqual(Array(20).fill(201));
    } finally {
      await Promise.allSettled(signUps); // no request left in flight when the server closes
      await slow.close();
    }
  });

  it('takes no sign-ups when closed; admins create accounts and share links still work (item 4)', async () => {
    const closed = await startTestServer(db, {}, undefined, server.token, { signUp: 'closed' });
    try {
      const api = new ApiClient(closed.httpUrl);
      const refused = await api.post('/api/auth/signup', { email: freshEmail(), password: PASSWORD });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'signup_closed']);
      expect((await fetch(`${closed.httpUrl}/signup`)).status).toBe(403);

      const adminEmail = freshEmail();
      await closed.server.services.accounts.ensureAdmin(adminEmail, 'admin password here');
      const admin = new ApiClient(closed.httpUrl);
      expect((await admin.post('/api/auth/login', { email: adminEmail, password: 'admin password here' })).status).toBe(200);
      const invited = freshEmail();
      const created = await admin.post('/api/admin/users', { email: invited });
      expect(created.status).toBe(201);
      expect(created.body.user.email).toBe(invited);
      expect((await new ApiClient(closed.httpUrl).post('/api/auth/login', { email: invited, password: created.body.password })).status).toBe(200);
      const nonAdmin = await new ApiClient(closed.httpUrl, { token: server.token, origin: null }).post('/api/admin/users', { email: freshEmail() });
      expect(nonAdmin.status).toBe(403);

      // Someone without an account still edits through a share link.
      const docId = await createDocument(closed);
      const link = await createShareLink(closed, docId, 'edit');
      const peer = await RawPeer.connect(closed.wsUrl);
      const joined = await peer.joinAndWait(docId, { share: link.token, crdt: CrdtType.Loro });
      expect(joined.type).toBe(MessageType.JoinResponseOk);
      peer.close();
    } finally {
      await closed.close();
    }
  });

  it('counts the address the proxy appended, not the one the client wrote (item 5)', async () => {
    const email = freshEmail();
    expect((await post(proxied, '/api/auth/signup', { email, password: PASSWORD }, '203.0.113.90')).status).toBe(201);
    for (let i = 0; i < MAX_FAILURES_PER_IP; i++) {
      const res = await post(proxied, '/api/auth/login', { email: `spray${i}-${counter}@example.test`, password: 'guess guess' }, '203.0.113.7', `198.51.100.${i}`);
      expect(res.status).toBe(401);
    }
    const blocked = await post(proxied, '/api/auth/login', { email, password: PASSWORD }, '203.0.113.7', '198.51.100.250');
    expect(blocked.status).toBe(429);
    expect((await post(proxied, '/api/auth/login', { email, password: PASSWORD }, '203.0.113.8', '203.0.113.7')).status).toBe(200);
  });

  it('slows one address progressively and never locks the owner out of a new address (item 6)', async () => {
    const email = freshEmail();
    expect((await post(proxied, '/api/auth/signup', { email, password: PASSWORD }, '203.0.113.100')).status).toBe(201);
    const from = (address: string, password: string) => post(proxied, '/api/auth/login', { email, password }, address);
    const age = (address: string, seconds: number) =>
      db.handle.db
        .updateTable('login_failures')
        .set({ last_at: new Date(Date.now() - seconds * 1000) })
        .where('key', '=', pairKey(email, address))
        .execute();

    for (let i = 0; i < FREE_FAILURES_PER_PAIR; i++) expect((await from('203.0.113.101', `guess ${i}`)).status).toBe(401);
    // The next attempt from that address waits 1 s, then 2 s, then 4 s: the password is not checked meanwhile.
    for (const wait of [1, 2, 4, 8]) {
      const early = await from('203.0.113.101', PASSWORD);
      expect([early.status, Number(early.headers.get('retry-after'))]).toEqual([429, wait]);
      await age('203.0.113.101', wait);
      expect((await from('203.0.113.101', `guess again ${wait}`)).status).toBe(401);
    }
    // Many failures from one address (far more than the old per-account lock of ten)…
    for (let i = 0; i < 8; i++) {
      await age('203.0.113.101', 3600);
      expect((await from('203.0.113.101', `more ${i}`)).status).toBe(401);
    }
    // …and the right password from elsewhere gets in at once,
    expect((await from('203.0.113.102', PASSWORD)).status).toBe(200);
    // as from the guessing address once its delay has run, which resets it.
    await age('203.0.113.101', 3600);
    expect((await from('203.0.113.101', PASSWORD)).status).toBe(200);
    expect((await from('203.0.113.101', 'wrong again')).status).toBe(401);
  });

  it('revokes tokens when an account is disabled, and on a password change when asked (item 7)', async () => {
    const adminEmail = freshEmail();
    await server.server.services.accounts.ensureAdmin(adminEmail, 'admin password here');
    const admin = new ApiClient(server.httpUrl);
    await admin.post('/api/auth/login', { email: adminEmail, password: 'admin password here' });

    const owner = new ApiClient(server.httpUrl);
    const user = await owner.signUp(freshEmail());
    const token = (await owner.post('/api/me/tokens', { name: 'ci', scopes: ['read'] })).body.token as string;
    const script = new ApiClient(server.httpUrl, { token, origin: null });
    expect((await script.get('/api/me')).status).toBe(200);
    expect((await admin.post(`/api/admin/users/${user.id}/disable`)).status).toBe(200);
    expect((await script.get('/api/me')).status).toBe(401);
    expect((await admin.post(`/api/admin/users/${user.id}/enable`)).status).toBe(200);
    // Enabling restores the account, not its old credentials.
    expect((await script.get('/api/me')).status).toBe(401);
    expect((await admin.get(`/api/admin/users/${user.id}/tokens`)).body.tokens).toEqual([]);

    const email = freshEmail();
    const person = new ApiClient(server.httpUrl);
    await person.signUp(email);
    const kept = (await person.post('/api/me/tokens', { name: 'kept', scopes: ['read'] })).body.token as string;
    expect((await person.post('/api/me/password', { currentPassword: PASSWORD, newPassword: 'second password here' })).status).toBe(204);
    expect((await new ApiClient(server.httpUrl, { token: kept, origin: null }).get('/api/me')).status).toBe(200);
    expect((await person.post('/api/me/password', { currentPassword: 'second password here', newPassword: 'third password here', revokeTokens: true })).status).toBe(204);
    expect((await new ApiClient(server.httpUrl, { token: kept, origin: null }).get('/api/me')).status).toBe(401);
  });

  it('refuses the most common passwords and the email itself (low)', async () => {
    const email = freshEmail();
    for (const password of ['12345678', 'Qwertyuiop', 'iloveyou', email, email.toUpperCase(), email.split('@')[0]!]) {
      const res = await new ApiClient(server.httpUrl).post('/api/auth/signup', { email, password });
      expect([res.status, res.body.error.code], password).toEqual([400, 'weak_password']);
    }
    const person = new ApiClient(server.httpUrl);
    await person.signUp(email);
    const change = await person.post('/api/me/password', { currentPassword: PASSWORD, newPassword: 'password123' });
    expect([change.status, change.body.error.code]).toEqual([400, 'weak_password']);
  });
});

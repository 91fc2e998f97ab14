/**
 * Administration: the curl examples of docs/OPERATIONS.md run as written against a live server (so they
 * stay true), plus what only admins may do, and the audit trail it leaves.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open-database';
import { findUserByEmail } from '../../db/repositories/users';
import { MessageType } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, signUp, startTestServer, type RunningServer, type TestUser } from '../helpers/test-server';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

/** The ```sh blocks of docs/OPERATIONS.md's Administration section, in order. */
async function readmeAdminExamples(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'docs/OPERATIONS.md'), 'utf8');
  const section = readme.split('\n## Administration')[1]!.split('\n## ')[0]!;
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => block.includes('curl'));
}

describe.each(backends)('administration ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let admin: ApiClient;
  let adminToken: string;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    await server.server.services.accounts.ensureAdmin('root@example.test', 'root password here');
    const session = new ApiClient(server.httpUrl);
    expect((await session.post('/api/auth/login', { email: 'root@example.test', password: 'root password here' })).status).toBe(200);
    const created = await session.post('/api/me/tokens', { name: 'admin', scopes: ['read', 'write', 'admin'] });
    expect(created.status).toBe(201);
    adminToken = created.body.token;
    admin = new ApiClient(server.httpUrl, { token: adminToken });
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('keeps non-admins and tokens without the admin scope out', async () => {
    const user = await signUp(server.httpUrl);
    const asUser = await new ApiClient(server.httpUrl, { token: user.token }).get('/api/admin/users');
    expect([asUser.status, asUser.body.error.code]).toEqual([403, 'forbidden']);
    const anonymous = await new ApiClient(server.httpUrl).get('/api/admin/stats');
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'unauthenticated']);
    const session = new ApiClient(server.httpUrl);
    await session.post('/api/auth/login', { email: 'root@example.test', password: 'root password here' });
    const readOnly = (await session.post('/api/me/tokens', { name: 'ro', scopes: ['read'] })).body.token as string;
    const scoped = await new ApiClient(server.httpUrl, { token: readOnly }).get('/api/admin/users');
    expect([scoped.status, scoped.body.error.code]).toEqual([403, 'insufficient_scope']);
    // Admin sessions work too (the account page and a browser).
    expect((await session.get('/api/admin/stats')).status).toBe(200);
  });

  it('runs every curl example of docs/OPERATIONS.md', async () => {
    const target: TestUser = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token: target.token }, { title: 'quarterly plan', text: 'hello admin' });
    const peer = await RawPeer.connect(server.wsUrl, target.token);
    expect((await peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    const sessions = (await admin.get(`/api/admin/users/${target.id}/sessions`)).body.sessions;
    const tokens = (await admin.get(`/api/admin/users/${target.id}/tokens`)).body.tokens;
    const env = {
      ...process.env,
      TANDEM_URL: server.httpUrl,
      TANDEM_TOKEN: adminToken,
      USER_ID: target.id,
      SESSION_ID: sessions[0].id as string,
      TOKEN_ID: tokens[0].id as string,
      DOC_ID: docId,
    };
    const examples = await readmeAdminExamples();
    expect(examples.length).toBeGreaterThanOrEqual(10);
    const outputs: string[] = [];
    for (const example of examples) {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', example], { env });
      outputs.push(stdout);
    }
    const all = outputs.join('\n');
    expect(all).toContain('"text":"hello admin"');
    expect(all).toContain('"title":"quarterly plan"');
    expect(all).toContain('"connections"');
    // The effects are real: the user is gone, their document soft-deleted but restorable.
    expect((await admin.get(`/api/admin/users?query=${encodeURIComponent(target.email)}`)).body.users).toEqual([]);
    expect((await admin.get('/api/admin/documents?deleted=true')).body.documents.map((d: { id: string }) => d.id)).toContain(docId);
    expect((await admin.post(`/api/admin/documents/${docId}/restore`)).status).toBe(204);
    expect((await admin.get(`/api/admin/documents/${docId}/text`)).body.text).toBe('hello admin');
    peer.close();
  });

  it('reports documents with size, update count, activity and members', async () => {
    const owner = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token: owner.token }, { title: 'figures', text: 'abc' });
    const { documents } = (await admin.get(`/api/admin/documents?query=${docId}`)).body;
    expect(documents).toEqual([
      expect.objectContaining({ id: docId, title: 'figures', ownerEmail: owner.email, commits: 1, logUpdates: 1, members: [{ userId: owner.id, email: owner.email, role: 'owner' }] }),
    ]);
    expect(documents[0].sizeBytes).toBeGreaterThan(0);
    const compacted = (await admin.post(`/api/admin/documents/${docId}/compact`)).body;
    expect(compacted).toMatchObject({ compacted: true, seq: 1 });
    expect((await admin.get(`/api/admin/documents/${docId}/text`)).body.text).toBe('abc');
  });

  it('records admin and permission actions in a queryable audit log', async () => {
    const owner = await signUp(server.httpUrl);
    const member = await signUp(server.httpUrl);
    const ownerApi = new ApiClient(server.httpUrl, { token: owner.token });
    const docId = await createDocument({ httpUrl: server.httpUrl, token: owner.token });
    await ownerApi.put(`/api/documents/${docId}/members`, { email: member.email, role: 'editor' });
    await ownerApi.put(`/api/documents/${docId}/members`, { email: member.email, role: 'viewer' });
    const link = (await ownerApi.post(`/api/documents/${docId}/links`, { access: 'view' })).body;
    await ownerApi.delete(`/api/documents/${docId}/links/${link.id}`);
    await admin.post(`/api/admin/users/${member.id}/disable`);
    const forDoc = (await admin.get(`/api/admin/audit?targetType=document&targetId=${docId}`)).body.entries;
    expect(forDoc.map((e: { action: string }) => e.action)).toEqual(['member.role_changed', 'member.added']);
    expect(forDoc[0]).toMatchObject({ actorId: owner.id, details: { userId: member.id, role: 'viewer', previous: 'editor' } });
    const byOwner = (await admin.get(`/api/admin/audit?actorId=${owner.id}`)).body.entries.map((e: { action: string }) => e.action);
    expect(byOwner).toEqual(expect.arrayContaining(['link.created', 'link.revoked']));
    const disabled = (await admin.get(`/api/admin/audit?action=user.disabled&targetId=${member.id}`)).body.entries;
    expect(disabled).toHaveLength(1);
    const invalid = await admin.get('/api/admin/audit?limit=100000');
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'invalid_request']);
  });

  it('never removes the last administrator', async () => {
    const root = await findUserByEmail(db.handle.db, 'root@example.test');
    const res = await admin.delete(`/api/admin/users/${root!.id}/admin`);
    expect([res.status, res.body.error.code]).toEqual([409, 'last_admin']);
  });

  it('creates the first admin from the command line', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tandem-cli-'));
    try {
      const env = { ...process.env, TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10', DATABASE_URL: '' };
      delete (env as Record<string, string | undefined>).DATABASE_URL;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/admin-cli.ts', 'create-admin', '--email', 'Boss@Example.test'], { cwd: ROOT, env });
      expect(stdout).toMatch(/^created administrator boss@example\.test \([a-z2-7]+\)\npassword \(shown once\): [a-z2-7]{20}\n$/);
      const database = await openDatabase({ kind: 'embedded', dataDir });
      try {
        expect(await findUserByEmail(database.db, 'boss@example.test')).toMatchObject({ is_admin: true });
      } finally {
        await database.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

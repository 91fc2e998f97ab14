/** The documents API: create, list, rename, delete, members and share links, by role. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppErrorCode, MessageType, type JoinError } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { signUp, startTestServer, type RunningServer, type TestUser } from '../helpers/test-server';

describe.each(backends)('documents API ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let owner: TestUser;
  let editor: TestUser;
  let viewer: TestUser;
  let as: (user: TestUser) => ApiClient;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    [owner, editor, viewer] = await Promise.all([signUp(server.httpUrl), signUp(server.httpUrl), signUp(server.httpUrl)]);
    as = (user) => new ApiClient(server.httpUrl, { token: user.token });
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  async function sharedDoc(): Promise<string> {
    const created = await as(owner).post('/api/documents', {
      title: "Robert'); DROP TABLE documents;--",
      text: 'draft text',
      originUrl: 'https://mail.example/compose',
      originField: 'textarea#body',
    });
    expect(created.status).toBe(201);
    await as(owner).put(`/api/documents/${created.body.id}/members`, { email: editor.email, role: 'editor' });
    await as(owner).put(`/api/documents/${created.body.id}/members`, { email: viewer.email, role: 'viewer' });
    return created.body.id;
  }

  it('creates from a field’s text, and lists for owner and members with their roles', async () => {
    const id = await sharedDoc();
    const doc = (await as(owner).get(`/api/documents/${id}`)).body;
    expect(doc).toMatchObject({ id, title: "Robert'); DROP TABLE documents;--", role: 'owner', permission: 'write', originUrl: 'https://mail.example/compose' });
    expect((await as(viewer).get(`/api/documents/${id}/text`)).body.text).toBe('draft text');
    const forViewer = (await as(viewer).get('/api/documents')).body.documents.find((d: { id: string }) => d.id === id);
    expect(forViewer).toMatchObject({ role: 'viewer', permission: 'read' });
    const members = (await as(viewer).get(`/api/documents/${id}/members`)).body.members;
    expect(members.map((m: { role: string }) => m.role)).toEqual(['owner', 'editor', 'viewer']);
  });

  it('lets editors rename, not viewers; only the owner deletes or manages sharing', async () => {
    const id = await sharedDoc();
    expect((await as(editor).patch(`/api/documents/${id}`, { title: 'Renamed' })).body.title).toBe('Renamed');
    expect((await as(viewer).patch(`/api/documents/${id}`, { title: 'Nope' })).status).toBe(403);
    expect((await as(editor).delete(`/api/documents/${id}`)).status).toBe(403);
    expect((await as(editor).put(`/api/documents/${id}/members`, { email: viewer.email, role: 'editor' })).status).toBe(403);
    expect((await as(editor).post(`/api/documents/${id}/links`, { access: 'edit' })).status).toBe(403);
    expect((await as(editor).get(`/api/documents/${id}/links`)).status).toBe(403);
    const unknown = await as(owner).put(`/api/documents/${id}/members`, { email: 'nobody@example.test', role: 'editor' });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'user_not_found']);
    const extra = await as(owner).patch(`/api/documents/${id}`, { title: 'x', ownerId: editor.id });
    expect([extra.status, extra.body.error.code]).toEqual([400, 'invalid_request']);
    const badId = await as(owner).get('/api/documents/..%2F..%2Fetc');
    expect(badId.status).toBe(400);
    // A member may leave; the owner may not.
    expect((await as(viewer).delete(`/api/documents/${id}/members/${viewer.id}`)).status).toBe(204);
    expect((await as(viewer).get(`/api/documents/${id}`)).status).toBe(404);
    expect((await as(owner).delete(`/api/documents/${id}/members/${owner.id}`)).status).toBe(409);
    expect((await as(owner).delete(`/api/documents/${id}`)).status).toBe(204);
    expect((await as(editor).get(`/api/documents/${id}`)).status).toBe(404);
  });

  it('share links: list without tokens, rotate (the old one stops working), revoke', async () => {
    const id = await sharedDoc();
    const link = (await as(owner).post(`/api/documents/${id}/links`, { access: 'view' })).body;
    expect(link).toMatchObject({ access: 'view', revoked: false, url: `${server.httpUrl}/d/${id}#${link.token}` });
    const listed = (await as(owner).get(`/api/documents/${id}/links`)).body.links;
    expect(listed).toEqual([{ id: link.id, access: 'view', createdAt: link.createdAt, revoked: false }]);

    const anonymous = await RawPeer.connect(server.wsUrl);
    expect(await anonymous.joinAndWait(id, { share: link.token })).toMatchObject({ type: MessageType.JoinResponseOk, permission: 'read' });
    const rotated = (await as(owner).post(`/api/documents/${id}/links/${link.id}/rotate`)).body;
    expect(rotated.token).not.toBe(link.token);
    const stale = await RawPeer.connect(server.wsUrl);
    expect(((await stale.joinAndWait(id, { share: link.token })) as JoinError).appCode).toBe(AppErrorCode.RoomNotFound);
    expect(await stale.joinAndWait(id, { share: rotated.token })).toMatchObject({ type: MessageType.JoinResponseOk, permission: 'read' });
    // A token for one document opens no other.
    const other = await sharedDoc();
    expect(((await stale.joinAndWait(other, { share: rotated.token })) as JoinError).appCode).toBe(AppErrorCode.RoomNotFound);

    expect((await as(owner).delete(`/api/documents/${id}/links/${rotated.id}`)).status).toBe(204);
    expect((await as(owner).delete(`/api/documents/${id}/links/${rotated.id}`)).status).toBe(404);
    expect((await as(owner).get(`/api/documents/${id}/links`)).body.links.every((l: { revoked: boolean }) => l.revoked)).toBe(true);
    anonymous.close();
    stale.close();
  });

  it('the share landing page works without the extension and never sees the token', async () => {
    const id = await sharedDoc();
    const res = await fetch(`${server.httpUrl}/d/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await res.text()).toContain('shared Tandem document');
  });
});

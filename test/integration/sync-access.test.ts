/**
 * Access control on `/sync`: how sockets authenticate (ticket, token, cookie, link), which
 * origins may connect, what each role may do, and revocations that reach open sockets within
 * a second.
 */
import { LoroDoc } from 'loro-crdt';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AppErrorCode, CloseCode, CrdtType, JoinErrorCode, MessageType, RoomErrorCode, UpdateStatus, encodeJoinAuth, type JoinError, type RoomError } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { storedDoc } from '../helpers/stored';
import { TEST_EXTENSION_ID, createDocument, createShareLink, signUp, startTestServer, type RunningServer, type TestUser } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const MOZ_ORIGIN = 'moz-extension://0f0e0d0c-0b0a-4908-8706-050403020100';

function edit(doc: LoroDoc, text: string): Uint8Array {
  const before = doc.oplogVersion();
  doc.getText(TEXT).insert(0, text);
  doc.commit();
  return doc.export({ mode: 'update', from: before });
}

/** How long revocation may take to reach a socket. */
const WITHIN_A_SECOND = 1_000;

describe.each(backends)('sync access ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let owner: TestUser;
  let ownerApi: ApiClient;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    owner = await signUp(server.httpUrl);
    ownerApi = new ApiClient(server.httpUrl, { token: owner.token });
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  const newDoc = () => createDocument({ httpUrl: server.httpUrl, token: owner.token });

  async function ticketFor(user: TestUser): Promise<string> {
    const res = await fetch(`${server.httpUrl}/api/sync-tickets`, { method: 'POST', headers: { cookie: user.cookie, origin: `chrome-extension://${TEST_EXTENSION_ID}` } });
    expect(res.status).toBe(201);
    return ((await res.json()) as { ticket: string }).ticket;
  }

  const connect = (query = '', headers: Record<string, string> = {}) => RawPeer.connect(`${server.wsUrl}${query}`, undefined, headers);

  it('opens with a single-use ticket; a reused, expired or forged ticket closes with 4401', async () => {
    const docId = await newDoc();
    const ticket = await ticketFor(owner);
    const peer = await connect(`?ticket=${ticket}`, { origin: `chrome-extension://${TEST_EXTENSION_ID}` });
    expect((await peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);

    const reused = await connect(`?ticket=${ticket}`);
    expect(await reused.closed()).toEqual({ code: CloseCode.Unauthenticated, reason: 'unauthenticated' });
    const forged = await connect('?ticket=abcdefghijklmnopqrstuvwxyz234567');
    expect((await forged.closed()).code).toBe(CloseCode.Unauthenticated);
    const expired = await ticketFor(owner);
    await db.handle.db
      .updateTable('sync_tickets')
      .set({ expires_at: new Date(Date.now() - 1) })
      .where('used_at', 'is', null)
      .execute();
    expect((await (await connect(`?ticket=${expired}`)).closed()).code).toBe(CloseCode.Unauthenticated);
    // Tickets are for sessions; a script's token cannot mint one.
    const res = await fetch(`${server.httpUrl}/api/sync-tickets`, { method: 'POST', headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(403);
    peer.close();
  });

  it('refuses foreign origins at the upgrade; Firefox extensions need a ticket', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(server.wsUrl, { headers: { origin: 'https://evil.example', cookie: owner.cookie } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(status).toBe(403);
    const mozWithoutTicket = await connect('', { origin: MOZ_ORIGIN, cookie: owner.cookie });
    expect((await mozWithoutTicket.closed()).code).toBe(CloseCode.Unauthenticated);
    const docId = await newDoc();
    const mozWithTicket = await connect(`?ticket=${await ticketFor(owner)}`, { origin: MOZ_ORIGIN });
    expect((await mozWithTicket.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    const samePage = await connect('', { origin: server.httpUrl, cookie: owner.cookie });
    expect((await samePage.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    mozWithTicket.close();
    samePage.close();
  });

  it('gives strangers nothing: a guessed id answers like a missing one, on sync and REST', async () => {
    const docId = await newDoc();
    const stranger = await signUp(server.httpUrl);
    const peer = await RawPeer.connect(server.wsUrl, stranger.token);
    const guessed = (await peer.joinAndWait(docId)) as JoinError;
    expect(guessed).toMatchObject({ type: MessageType.JoinError, code: JoinErrorCode.AppError, appCode: AppErrorCode.RoomNotFound });
    const anonymous = await connect();
    expect(((await anonymous.joinAndWait(docId)) as JoinError).appCode).toBe(AppErrorCode.RoomNotFound);
    const badPayload = (await anonymous.joinAndWait(docId, { crdt: CrdtType.Loro, version: new Uint8Array(0), share: undefined })) as JoinError;
    expect(badPayload.appCode).toBe(AppErrorCode.RoomNotFound);
    const rest = await new ApiClient(server.httpUrl, { token: stranger.token }).get(`/api/documents/${docId}`);
    const missing = await new ApiClient(server.httpUrl, { token: stranger.token }).get(`/api/documents/${'a'.repeat(26)}`);
    expect([rest.status, rest.body]).toEqual([missing.status, { error: { code: 'not_found', message: 'no such document' } }]);
    peer.close();
    anonymous.close();
  });

  it('a viewer reads and shares presence; its writes get permission_denied and are not stored', async () => {
    const docId = await newDoc();
    const viewer = await signUp(server.httpUrl);
    expect((await ownerApi.put(`/api/documents/${docId}/members`, { email: viewer.email, role: 'viewer' })).status).toBe(200);
    const peer = await RawPeer.connect(server.wsUrl, viewer.token);
    expect(await peer.joinAndWait(docId)).toMatchObject({ type: MessageType.JoinResponseOk, permission: 'read' });
    const before = (await db.handle.db.selectFrom('documents').select('head_seq').where('id', '=', docId).executeTakeFirstOrThrow()).head_seq;
    expect((await peer.ackFor(peer.update(docId, [edit(new LoroDoc(), 'vandal')]))).status).toBe(UpdateStatus.PermissionDenied);
    expect((await db.handle.db.selectFrom('documents').select('head_seq').where('id', '=', docId).executeTakeFirstOrThrow()).head_seq).toBe(before);
    expect((await peer.joinAndWait(docId, { crdt: CrdtType.LoroEphemeralStore })).type).toBe(MessageType.JoinResponseOk);
    peer.close();
  });

  it('removing a member evicts their socket within a second; lowering a role makes it rejoin as a viewer', async () => {
    const docId = await newDoc();
    const editor = await signUp(server.httpUrl);
    const removed = await signUp(server.httpUrl);
    await ownerApi.put(`/api/documents/${docId}/members`, { email: editor.email, role: 'editor' });
    await ownerApi.put(`/api/documents/${docId}/members`, { email: removed.email, role: 'editor' });
    const editorPeer = await RawPeer.connect(server.wsUrl, editor.token);
    const removedPeer = await RawPeer.connect(server.wsUrl, removed.token);
    expect(await editorPeer.joinAndWait(docId)).toMatchObject({ permission: 'write' });
    await removedPeer.joinAndWait(docId);

    const started = performance.now();
    expect((await ownerApi.delete(`/api/documents/${docId}/members/${removed.id}`)).status).toBe(204);
    const evicted = (await removedPeer.next((m) => m.type === MessageType.RoomError, 0, WITHIN_A_SECOND)) as RoomError;
    expect(evicted.code).toBe(RoomErrorCode.Evicted);
    expect(performance.now() - started).toBeLessThan(WITHIN_A_SECOND);
    expect((await removedPeer.ackFor(removedPeer.update(docId, [edit(new LoroDoc(), 'late')]))).status).toBe(UpdateStatus.PermissionDenied);

    await ownerApi.put(`/api/documents/${docId}/members`, { email: editor.email, role: 'viewer' });
    const rejoin = (await editorPeer.next((m) => m.type === MessageType.RoomError, 0, WITHIN_A_SECOND)) as RoomError;
    expect(rejoin.code).toBe(RoomErrorCode.RejoinSuggested);
    expect(await editorPeer.joinAndWait(docId)).toMatchObject({ permission: 'read' });
    editorPeer.close();
    removedPeer.close();
  });

  it('revoking a session, a token or an account closes its sockets within a second', async () => {
    const docId = await newDoc();
    const user = await signUp(server.httpUrl);
    await ownerApi.put(`/api/documents/${docId}/members`, { email: user.email, role: 'editor' });
    const userApi = new ApiClient(server.httpUrl);
    userApi.cookie = user.cookie;

    const viaSession = await connect(`?ticket=${await ticketFor(user)}`);
    const viaToken = await RawPeer.connect(server.wsUrl, user.token);
    await viaSession.joinAndWait(docId);
    await viaToken.joinAndWait(docId);

    let started = performance.now();
    const { sessions } = (await userApi.get('/api/me/sessions')).body;
    expect((await userApi.delete(`/api/me/sessions/${sessions[0].id}`)).status).toBe(204);
    expect(await viaSession.closed(WITHIN_A_SECOND)).toEqual({ code: CloseCode.Revoked, reason: 'revoked' });
    expect(performance.now() - started).toBeLessThan(WITHIN_A_SECOND);

    const userTokens = new ApiClient(server.httpUrl, { token: user.token });
    const { tokens } = (await userTokens.get('/api/me/tokens')).body;
    started = performance.now();
    expect((await userTokens.delete(`/api/me/tokens/${tokens[0].id}`)).status).toBe(204);
    expect((await viaToken.closed(WITHIN_A_SECOND)).code).toBe(CloseCode.Revoked);

    // Disabling an account (an admin action) closes whatever it still has open.
    const again = await signUp(server.httpUrl);
    const peer = await RawPeer.connect(server.wsUrl, again.token);
    await server.server.services.accounts.setDisabled(null, again.id, true);
    expect((await peer.closed(WITHIN_A_SECOND)).code).toBe(CloseCode.Revoked);
    const rejected = await RawPeer.connect(server.wsUrl, again.token);
    expect((await rejected.closed()).code).toBe(CloseCode.Unauthenticated);
  });

  it('deleting a document evicts everyone in it', async () => {
    const docId = await newDoc();
    const peer = await RawPeer.connect(server.wsUrl, owner.token);
    await peer.joinAndWait(docId);
    expect((await ownerApi.delete(`/api/documents/${docId}`)).status).toBe(204);
    expect(((await peer.next((m) => m.type === MessageType.RoomError, 0, WITHIN_A_SECOND)) as RoomError).code).toBe(RoomErrorCode.Evicted);
    expect(((await peer.joinAndWait(docId)) as JoinError).appCode).toBe(AppErrorCode.RoomNotFound);
    peer.close();
  });

  it('official loro-websocket clients through share links: the viewer cannot write; revoking its link evicts it', async () => {
    const docId = await newDoc();
    const editLink = await createShareLink({ httpUrl: server.httpUrl, token: owner.token }, docId, 'edit');
    const viewLink = await createShareLink({ httpUrl: server.httpUrl, token: owner.token }, docId, 'view');
    expect(editLink.url).toBe(`${server.httpUrl}/d/${docId}#${editLink.token}`);

    const clients: LoroWebsocketClient[] = [];
    const open = async (share: string) => {
      const client = new LoroWebsocketClient({ url: server.wsUrl, disablePing: true, reconnect: { enabled: false } });
      clients.push(client);
      await client.waitConnected();
      const doc = new LoroDoc();
      const refusals: number[] = [];
      const adaptor = new LoroAdaptor(doc, { onUpdateError: (_updates, status) => refusals.push(status) });
      const room = await client.join({ roomId: docId, crdtAdaptor: adaptor, auth: encodeJoinAuth({ share }) });
      await adaptor.waitForReachingServerVersion();
      return { doc, room, refusals };
    };
    const editor = await open(editLink.token);
    const viewer = await open(viewLink.token);
    const room = await server.server.rooms.acquireDoc(docId);
    expect(room.memberCount).toBe(2);

    editor.doc.getText(TEXT).insert(0, 'by the editor');
    editor.doc.commit();
    await waitFor(() => textOf(viewer.doc) === 'by the editor', { what: 'the viewer to see the edit' });

    viewer.doc.getText(TEXT).insert(0, 'by the viewer ');
    viewer.doc.commit();
    await waitFor(() => viewer.refusals.length > 0, { what: 'the refusal of the viewer’s edit' });
    expect(viewer.refusals).toEqual([UpdateStatus.PermissionDenied]);
    editor.doc.getText(TEXT).insert(editor.doc.getText(TEXT).length, '!');
    editor.doc.commit();
    await waitFor(async () => textOf(await storedDoc(db.handle.db, docId)) === 'by the editor!', { what: 'the editor’s edits stored' });
    expect(textOf(editor.doc)).toBe('by the editor!');

    const started = performance.now();
    expect((await ownerApi.delete(`/api/documents/${docId}/links/${viewLink.id}`)).status).toBe(204);
    await waitFor(() => room.memberCount === 1, { what: 'the viewer to be evicted', timeoutMs: WITHIN_A_SECOND });
    expect(performance.now() - started).toBeLessThan(WITHIN_A_SECOND);
    // The official client marks the room closed for good (RoomError evicted: no auto-rejoin).
    await waitFor(() => (viewer.room as unknown as { destroyed: boolean }).destroyed, { what: 'the client to drop the room' });
    // The editor's link still works.
    editor.doc.getText(TEXT).insert(0, '> ');
    editor.doc.commit();
    await waitFor(async () => textOf(await storedDoc(db.handle.db, docId)) === '> by the editor!', { what: 'the editor to keep working' });
    for (const c of clients) c.destroy();
  });
});

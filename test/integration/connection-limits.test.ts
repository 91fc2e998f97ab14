/**
 * Limits over sockets, addresses and accounts (issue 18, item 8): what one address or one
 * account may hold on a node, idle strangers, quotas, and slow HTTP clients. Each test failed
 * on the code before (there were limits per socket only, and Node's default timeouts).
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, CloseReason, CrdtType, JoinErrorCode, MessageType } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { refusalProblem } from '../../extension/lib/background/refusal';
import { nodeSyncClient } from '../helpers/clients';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, createShareLink, signUp, startTestServer, type RunningServer } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';

describe.each(backends)('connection limits ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await backend.create();
    // Headers must come within 400 ms; a whole request may take longer (a sign-up hashes a
    // password, which took more than 400 ms on a loaded CI machine and got 408).
    server = await startTestServer(
      db,
      { maxSocketsPerAddress: 4, maxSocketsPerAccount: 2, addressJoinBurst: 6, addressJoinsPerSecond: 0.001, anonymousIdleMs: 300 },
      undefined,
      undefined,
      {},
      { http: { headersTimeoutMs: 400, requestTimeoutMs: 60_000 }, quotas: { documentsPerAccount: 3, linksPerAccount: 2 } },
    );
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  // The server frees a socket's slots when its TCP socket closes, a moment after the client sees the close.
  const addressFree = () => waitFor(() => server.server.sync.limits.socketsOf('127.0.0.1') === 0, { what: 'the address to hold no socket' });
  afterEach(addressFree);

  it('bounds the sockets of one address and of one account', async () => {
    const other = await signUp(server.httpUrl);
    const mine = [await RawPeer.connect(server.wsUrl, server.token), await RawPeer.connect(server.wsUrl, server.token)];
    // The account is known by then: it is told why, by a close a browser can read.
    const third = await RawPeer.connect(server.wsUrl, server.token);
    expect(await third.closed()).toEqual({ code: CloseCode.TooManySockets, reason: 'too_many_sockets' });
    await waitFor(() => server.server.sync.limits.socketsOf('127.0.0.1') === 2, { what: "the refused socket's slot to be freed" });
    // The extension's client hears it too, and its badge names it (while it retries with backoff).
    const client = nodeSyncClient(server.wsUrl, { token: server.token, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    await waitFor(() => client.lastClose, { what: 'the refusal' });
    expect(refusalProblem({ lastClose: client.lastClose, live: false, failure: null })).toContain('too_many_sockets');
    client.close();
    await waitFor(() => server.server.sync.limits.socketsOf('127.0.0.1') === 2, { what: "the client's slot to be freed" });
    const theirs = [await RawPeer.connect(server.wsUrl, other.token), await RawPeer.connect(server.wsUrl, other.token)];
    // Four from 127.0.0.1 now: the address is full, whoever asks.
    await expect(RawPeer.connect(server.wsUrl)).rejects.toThrow(/429/);
    expect(server.server.metrics.snapshot().limitHits).toMatchObject({ sockets_per_account: 2, sockets_per_address: 1 });
    // A closed socket gives its slots back.
    mine[0]!.close();
    await waitFor(() => server.server.sync.limits.socketsOf('127.0.0.1') === 3, { what: 'the slot to be freed' });
    const again = await RawPeer.connect(server.wsUrl, server.token);
    for (const peer of [mine[1]!, ...theirs, again]) peer.close();
    await Promise.all([mine[1]!, ...theirs, again].map((p) => p.closed()));
  });

  it('limits joins per address over all its sockets', async () => {
    const docId = await createDocument(server);
    const a = await RawPeer.connect(server.wsUrl, server.token);
    const b = await RawPeer.connect(server.wsUrl, server.token);
    // Each socket alone may join 256 at once; together they share the address's 6.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await a.joinAndWait(docId), await b.joinAndWait(docId));
    const refused = answers.filter((m) => m.type === MessageType.JoinError);
    expect(answers.filter((m) => m.type === MessageType.JoinResponseOk)).toHaveLength(6);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ code: JoinErrorCode.AppError, appCode: 'rate_limited' });
    a.close();
    b.close();
    await Promise.all([a.closed(), b.closed()]);
  });

  it('closes anonymous sockets that join nothing, and keeps the others', async () => {
    const signedIn = await RawPeer.connect(server.wsUrl, server.token);
    const idle = await RawPeer.connect(server.wsUrl);
    const closed = await idle.closed();
    expect(closed).toEqual({ code: CloseCode.Idle, reason: CloseReason[CloseCode.Idle] });
    expect(signedIn.closeEvent).toBeNull();
    signedIn.close();
    await signedIn.closed();
  });

  it('keeps anonymous sockets that joined through a share link', async () => {
    const owner = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token: owner.token });
    const link = await createShareLink({ httpUrl: server.httpUrl, token: owner.token }, docId, 'view');
    const joined = await RawPeer.connect(server.wsUrl);
    expect((await joined.joinAndWait(docId, { share: link.token, crdt: CrdtType.Loro })).type).toBe(MessageType.JoinResponseOk);
    const idle = await RawPeer.connect(server.wsUrl);
    await idle.closed();
    expect(joined.closeEvent).toBeNull();
    joined.close();
    await joined.closed();
  });

  it('enforces documents and share links per account', async () => {
    const person = await signUp(server.httpUrl);
    const api = new ApiClient(server.httpUrl, { token: person.token, origin: null });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.post('/api/documents', { title: `doc ${i}` })).body.id);
    const over = await api.post('/api/documents', { title: 'one too many' });
    expect([over.status, over.body.error.code]).toEqual([403, 'quota_exceeded']);
    expect((await api.delete(`/api/documents/${ids[2]}`)).status).toBe(204);
    expect((await api.post('/api/documents', { title: 'room again' })).status).toBe(201);

    const links = [await api.post(`/api/documents/${ids[0]}/links`, { access: 'view' }), await api.post(`/api/documents/${ids[1]}/links`, { access: 'edit' })];
    expect(links.map((l) => l.status)).toEqual([201, 201]);
    const third = await api.post(`/api/documents/${ids[0]}/links`, { access: 'edit' });
    expect([third.status, third.body.error.code]).toEqual([403, 'quota_exceeded']);
    expect((await api.delete(`/api/documents/${ids[0]}/links/${links[0]!.body.id}`)).status).toBe(204);
    expect((await api.post(`/api/documents/${ids[0]}/links`, { access: 'edit' })).status).toBe(201);
  });

  it('cuts a client that sends its headers too slowly', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the blank line
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

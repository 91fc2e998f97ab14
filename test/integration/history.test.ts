/**
 * Version history over a real server and database (both backends): versions grouped,
 * attributed and ordered; opening a version gives the text a replay of the same edits gives;
 * compare; restore reaches everyone connected, survives a restart and is itself a version;
 * readers cannot restore or name; history survives compaction; export and import round-trip.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { LoroDoc } from 'loro-crdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { configureText } from '../../shared/document';
import { importEach } from '../../shared/import-updates';
import { MAX_BODY_BYTES } from '../../server/http/body';
import { MessageType, UpdateStatus, encodeJoinAuth } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, createShareLink, signUp, startTestServer, type RunningServer, type TestUser } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket; // for the official client
/** One writer: its own Loro doc (own peer), kept in step with the others by the test. */
class Writer {
  readonly doc = new LoroDoc();
  constructor(readonly peer: RawPeer) {
    configureText(this.doc);
  }

  /** Types `text` at `pos` (default: the end), sends it, and returns the update once acknowledged. */
  async type(docId: string, text: string, pos?: number): Promise<Uint8Array> {
    const before = this.doc.oplogVersion();
    const t = this.doc.getText(TEXT);
    t.insert(pos ?? t.length, text);
    this.doc.commit();
    const update = this.doc.export({ mode: 'update', from: before });
    const ack = await this.peer.ackFor(this.peer.update(docId, [update]));
    expect(ack.status).toBe(UpdateStatus.Ok);
    return update;
  }
}

describe.each(backends)('version history ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let aliceApi: ApiClient;
  let bobApi: ApiClient;
  let carolApi: ApiClient;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db);
    alice = await signUp(server.httpUrl);
    bob = await signUp(server.httpUrl);
    carol = await signUp(server.httpUrl);
    clients();
  });

  function clients(): void {
    aliceApi = new ApiClient(server.httpUrl, { token: alice.token });
    bobApi = new ApiClient(server.httpUrl, { token: bob.token });
    carolApi = new ApiClient(server.httpUrl, { token: carol.token });
  }

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  /** A document Alice owns, Bob edits and Carol views, with an edit link; four writing sessions. */
  async function writtenDocument(): Promise<{ docId: string; updates: Uint8Array[]; writers: Writer[]; versions: any[] }> {
    const docId = await createDocument({ httpUrl: server.httpUrl, token: alice.token });
    expect((await aliceApi.put(`/api/documents/${docId}/members`, { email: bob.email, role: 'editor' })).status).toBe(200);
    expect((await aliceApi.put(`/api/documents/${docId}/members`, { email: carol.email, role: 'viewer' })).status).toBe(200);
    const link = await createShareLink({ httpUrl: server.httpUrl, token: alice.token }, docId, 'edit');
    const a = new Writer(await RawPeer.connect(server.wsUrl, alice.token));
    const b = new Writer(await RawPeer.connect(server.wsUrl, bob.token));
    const anon = new Writer(await RawPeer.connect(server.wsUrl));
    expect((await a.peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    expect((await b.peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
    expect((await anon.peer.joinAndWait(docId, { share: link.token })).type).toBe(MessageType.JoinResponseOk);
    const writers = [a, b, anon];
    const updates: Uint8Array[] = [];
    const everyone = (update: Uint8Array): void => {
      updates.push(update);
      for (const w of writers) w.doc.import(update);
    };
    everyone(await a.type(docId, 'Hello'));
    everyone(await a.type(docId, ', world'));
    everyone(await b.type(docId, ' and Bob'));
    everyone(await anon.type(docId, ' (seen via a link)'));
    everyone(await a.type(docId, 'Dear ', 0));
    const res = await carolApi.get(`/api/documents/${docId}/versions`);
    expect(res.status).toBe(200);
    return { docId, updates, writers, versions: res.body.versions };
  }

  it('groups edits by the same people, attributes accounts and link holders, newest first', async () => {
    const { docId, writers } = await writtenDocument();
    const res = await aliceApi.get(`/api/documents/${docId}/versions`);
    const versions = res.body.versions as { id: number; seq: number; authors: { kind: string; userId: string | null; name: string }[]; changes: number }[];
    expect(versions.map((v) => v.authors.map((a) => (a.kind === 'user' ? a.userId : a.kind)))).toEqual([[alice.id], ['link'], [bob.id], [alice.id]]);
    expect(versions.at(-2)!.authors[0]!.name).not.toBe('');
    expect(versions[1]!.authors[0]!.name).toBe('Anonymous via link');
    // Alice's two edits are one version; ids ascend from oldest to newest.
    expect(versions.at(-1)!.seq - versions.at(-1)!.id).toBe(1);
    expect(versions.map((v) => v.id)).toEqual([...versions.map((v) => v.id)].sort((x, y) => y - x));
    expect(versions.map((v) => v.changes)).toEqual(['Dear '.length, ' (seen via a link)'.length, ' and Bob'.length, 'Hello, world'.length]);
    for (const w of writers) w.peer.close();
  });

  it('opens each version with exactly the text a replay of the same edits gives, and who wrote it', async () => {
    const { docId, updates, writers, versions } = await writtenDocument();
    // Version boundaries, oldest first: after updates 2, 3, 4 and 5.
    const ends = [2, 3, 4, 5];
    const oldestFirst = [...versions].reverse();
    for (const [i, version] of oldestFirst.entries()) {
      const replay = new LoroDoc();
      replay.importBatch(updates.slice(0, ends[i]));
      const res = await bobApi.get(`/api/documents/${docId}/versions/${version.id}`);
      expect(res.status).toBe(200);
      expect(res.body.text).toBe(textOf(replay));
    }
    const latest = await carolApi.get(`/api/documents/${docId}/versions/${versions[0].id}`);
    const runs = (latest.body.authors as { author: { kind: string; userId: string | null }; length: number }[]).map((r) => [r.author.kind === 'user' ? r.author.userId : r.author.kind, r.length]);
    expect(runs).toEqual([
      [alice.id, 'Dear Hello, world'.length],
      [bob.id, ' and Bob'.length],
      ['link', ' (seen via a link)'.length],
    ]);
    const diff = await carolApi.get(`/api/documents/${docId}/versions/${oldestFirst[2].id}/diff?from=${oldestFirst[0].id}`);
    expect(diff.status).toBe(200);
    expect(diff.body.parts.filter((p: { op: string }) => p.op !== 'equal')).toEqual([{ op: 'insert', text: ' and Bob (seen via a link)' }]);
    expect((await carolApi.get(`/api/documents/${docId}/versions/999999`)).status).toBe(404);
    for (const w of writers) w.peer.close();
  });

  it('restores a version for everyone connected, as a version of its own that survives a restart; readers cannot restore or name', async () => {
    const { docId, writers, versions } = await writtenDocument();
    const [, b] = writers;
    const first = versions.at(-1);
    expect((await carolApi.post(`/api/documents/${docId}/versions/${first.id}/restore`)).status).toBe(403);
    expect((await carolApi.post(`/api/documents/${docId}/versions`, { name: 'mine' })).status).toBe(403);

    const seen = b!.peer.updatesFor(docId).length;
    const res = await aliceApi.post(`/api/documents/${docId}/versions/${first.id}/restore`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ restored: true, text: 'Hello, world' });
    // Bob's socket got the restore like any edit.
    await b!.peer.until(() => b!.peer.updatesFor(docId).length > seen, { what: 'the restore relayed to Bob' });
    b!.doc.importBatch(b!.peer.updatesFor(docId).slice(seen));
    expect(textOf(b!.doc)).toBe('Hello, world');

    const after = (await aliceApi.get(`/api/documents/${docId}/versions`)).body.versions;
    expect(after).toHaveLength(versions.length + 1);
    expect(after[0].name).toMatch(/^Restored/);
    expect(after[0].authors.map((a: { userId: string }) => a.userId)).toEqual([alice.id]);

    // Naming the state closes the version: the next edit starts another.
    const named = await bobApi.post(`/api/documents/${docId}/versions`, { name: 'Sent to client' });
    expect(named.status).toBe(201);
    expect(named.body.name).toBe('Sent to client');
    for (const w of writers) w.peer.close();

    await server.close();
    server = await startTestServer(db, {}, undefined, alice.token);
    clients();
    const api = aliceApi;
    expect((await api.get(`/api/documents/${docId}/text`)).body.text).toBe('Hello, world');
    const listed = (await api.get(`/api/documents/${docId}/versions`)).body.versions;
    expect(listed[0].name).toBe('Sent to client');
    expect(listed.map((v: { id: number }) => v.id)).toEqual(after.map((v: { id: number }) => v.id));
    // Restoring the version before the restore undoes it.
    const undo = await api.post(`/api/documents/${docId}/versions/${versions[0].id}/restore`);
    expect(undo.body.text).toBe('Dear Hello, world and Bob (seen via a link)');
  });

  it('keeps the whole history through compaction', async () => {
    const { docId, writers, versions } = await writtenDocument();
    for (const w of writers) w.peer.close();
    const texts = await Promise.all(versions.map(async (v: { id: number }) => (await aliceApi.get(`/api/documents/${docId}/versions/${v.id}`)).body.text));
    await waitFor(async () => (await server.server.services.compact(docId)) !== null || null, { what: 'a compaction' });
    const after = (await aliceApi.get(`/api/documents/${docId}/versions`)).body.versions;
    expect(after).toEqual(versions);
    const textsAfter = await Promise.all(after.map(async (v: { id: number }) => (await aliceApi.get(`/api/documents/${docId}/versions/${v.id}`)).body.text));
    expect(textsAfter).toEqual(texts);
    const snapshot = new LoroDoc();
    snapshot.import(await snapshotOf(docId, alice));
    expect(snapshot.isShallow()).toBe(false);
  });

  it('trims history older than TANDEM_HISTORY_DAYS into a shallow snapshot when compacting, and only then', async () => {
    const trimming = await startTestServer(db, { historyDays: 1 }, undefined, alice.token);
    try {
      const { api, docId, a } = await aliceWriting(trimming);
      await a.type(docId, 'One');
      await sql`update doc_updates set created_at = now() - interval '3 days' where doc_id = ${docId} and seq = 1`.execute(db.handle.db);
      await a.type(docId, ' two');
      await a.type(docId, ' three');
      a.peer.close();
      const before = (await api.get(`/api/documents/${docId}/versions`)).body.versions;
      expect(before.map((v: { id: number; name: string | null }) => [v.id, v.name])).toEqual([
        [2, null],
        [1, null],
      ]);
      await waitFor(async () => (await trimming.server.services.compact(docId)) !== null || null, { what: 'a compaction' });
      const after = (await api.get(`/api/documents/${docId}/versions`)).body.versions;
      expect(after.map((v: { id: number }) => v.id)).toEqual([2, 1]);
      expect(after[1].name).toMatch(/^Earlier history, trimmed/);
      const trimmed = await api.get(`/api/documents/${docId}/versions/1`);
      expect(trimmed.body, JSON.stringify(trimmed.body)).toMatchObject({ text: 'One' });
      expect((await api.get(`/api/documents/${docId}/versions/2`)).body.text).toBe('One two three');
      const snapshot = new LoroDoc();
      snapshot.import(await snapshotOf(docId, alice, trimming.httpUrl));
      expect(snapshot.isShallow()).toBe(true);
      expect(textOf(snapshot)).toBe('One two three');
      // Restoring the trimmed version still works: its state is what the shallow snapshot keeps.
      expect((await api.post(`/api/documents/${docId}/versions/1/restore`)).body).toEqual({ restored: true, text: 'One' });
    } finally {
      await trimming.close();
    }
  });

  it('a trimmed document: joiners with nothing (Tandem’s client, the official one) get its text, and it compacts again', async () => {
    let trimming = await startTestServer(db, { historyDays: 1 }, undefined, alice.token);
    try {
      const { docId, a } = await aliceWriting(trimming);
      await a.type(docId, 'One');
      await sql`update doc_updates set created_at = now() - interval '3 days' where doc_id = ${docId} and seq = 1`.execute(db.handle.db);
      await a.type(docId, ' two');
      await waitFor(async () => (await trimming.server.services.compact(docId)) !== null || null, { what: 'a compaction' });
      await a.type(docId, ' three'); // in the log after the shallow snapshot
      a.peer.close();
      // A restart: the room now loads from the shallow snapshot.
      await trimming.close();
      trimming = await startTestServer(db, { historyDays: 1 }, undefined, alice.token);
      const client = nodeSyncClient(trimming.wsUrl, { token: alice.token });
      try {
        const room = await client.open(docId);
        await room.whenSynced();
        await waitFor(() => textOf(room.doc) === 'One two three', { what: 'a joiner with nothing to get the text' });
      } finally {
        client.close();
      }
      const link = await createShareLink({ httpUrl: trimming.httpUrl, token: alice.token }, docId, 'view');
      const official = new LoroWebsocketClient({ url: trimming.wsUrl, disablePing: true });
      try {
        await official.waitConnected();
        const doc = new LoroDoc();
        await official.join({ roomId: docId, crdtAdaptor: new LoroAdaptor(doc), auth: encodeJoinAuth({ share: link.token }) });
        await waitFor(() => textOf(doc) === 'One two three', { what: 'the official client to get the text' });
      } finally {
        official.destroy();
      }
      // A second compaction of the trimmed document keeps its text.
      const b = new Writer(await RawPeer.connect(trimming.wsUrl, alice.token));
      await b.peer.joinAndWait(docId);
      await b.peer.until(
        () => {
          const fresh = new LoroDoc();
          importEach(fresh, b.peer.updatesFor(docId));
          return textOf(fresh) === 'One two three';
        },
        { what: 'the raw joiner’s catch-up' },
      );
      importEach(b.doc, b.peer.updatesFor(docId));
      await b.type(docId, ' four');
      b.peer.close();
      await waitFor(async () => (await trimming.server.services.compact(docId)) !== null || null, { what: 'a second compaction' });
      const snapshot = new LoroDoc();
      snapshot.import(await snapshotOf(docId, alice, trimming.httpUrl));
      expect(textOf(snapshot)).toBe('One two three four');
      expect((await new ApiClient(trimming.httpUrl, { token: alice.token }).get(`/api/documents/${docId}/text`)).body.text).toBe('One two three four');
    } finally {
      await trimming.close();
    }
  });

  it('refuses a restore that would take the document past its size limit (413 document_too_large), as an edit would be', async () => {
    const limit = 24 * 1024;
    const small = await startTestServer(db, { maxDocumentBytes: limit }, undefined, alice.token);
    try {
      const { api, docId, a } = await aliceWriting(small);
      await a.type(docId, 'Start.');
      expect((await api.post(`/api/documents/${docId}/versions`, { name: 'short' })).status).toBe(201);
      await a.type(docId, randomBytes(2_000).toString('hex')); // 4 KB of text that does not compress
      a.peer.close();
      const [long, short] = (await api.get(`/api/documents/${docId}/versions`)).body.versions as { id: number }[];
      // Each restore of the long version inserts its 4 KB again: a few turns reach the limit.
      const statuses: number[] = [];
      for (let i = 0; i < 12 && !statuses.includes(413); i++) {
        const res = await api.post(`/api/documents/${docId}/versions/${(i % 2 === 0 ? short : long)!.id}/restore`);
        statuses.push(res.status);
        if (res.status === 413) expect(res.body.error.code).toBe('document_too_large');
      }
      expect(statuses.at(-1)).toBe(413);
      expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
      const stored = await sql<{
        n: string;
      }>`select coalesce((select sum(octet_length(updates)) from doc_updates where doc_id = ${docId}), 0) + coalesce((select sum(octet_length(bytes)) from doc_snapshots where doc_id = ${docId}), 0) as n`.execute(
        db.handle.db,
      );
      expect(Number(stored.rows[0]!.n)).toBeLessThanOrEqual(limit);
    } finally {
      await small.close();
    }
  });

  /** On a server of its own: Alice's API, a new document of hers, and her writer in it. */
  async function aliceWriting(on: RunningServer): Promise<{ api: ApiClient; docId: string; a: Writer }> {
    const api = new ApiClient(on.httpUrl, { token: alice.token });
    const docId = await createDocument({ httpUrl: on.httpUrl, token: alice.token });
    const a = new Writer(await RawPeer.connect(on.wsUrl, alice.token));
    await a.peer.joinAndWait(docId);
    return { api, docId, a };
  }

  async function snapshotOf(docId: string, user: TestUser, base = server.httpUrl): Promise<Uint8Array> {
    const res = await fetch(`${base}/api/documents/${docId}/snapshot`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    return new Uint8Array(await res.arrayBuffer());
  }

  it('exports a version as text, Markdown and HTML, and the document as a snapshot that imports exactly', async () => {
    const docId = await createDocument({ httpUrl: server.httpUrl, token: alice.token });
    const a = new Writer(await RawPeer.connect(server.wsUrl, alice.token));
    await a.peer.joinAndWait(docId);
    const t = a.doc.getText(TEXT);
    const before = a.doc.oplogVersion();
    t.insert(0, 'Bold and italic, struck code <b>link</b>\nsecond * line');
    t.mark({ start: 0, end: 4 }, 'bold', true);
    t.mark({ start: 9, end: 15 }, 'italic', true);
    t.mark({ start: 17, end: 23 }, 'strike', true);
    t.mark({ start: 24, end: 28 }, 'code', true);
    t.mark({ start: 29, end: 40 }, 'link', 'https://example.com/a b');
    a.doc.commit();
    expect((await a.peer.ackFor(a.peer.update(docId, [a.doc.export({ mode: 'update', from: before })]))).status).toBe(UpdateStatus.Ok);
    a.peer.close();
    const [version] = (await aliceApi.get(`/api/documents/${docId}/versions`)).body.versions;

    const text = await aliceApi.get(`/api/documents/${docId}/versions/${version.id}/export?format=text`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.body).toBe(textOf(a.doc));
    const markdown = await aliceApi.get(`/api/documents/${docId}/versions/${version.id}/export?format=markdown`);
    expect(markdown.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(markdown.body).toBe('**Bold** and _italic_, ~~struck~~ `code` [\\<b\\>link\\</b\\>](https://example.com/a%20b)\nsecond \\* line');
    const html = await aliceApi.get(`/api/documents/${docId}/versions/${version.id}/export?format=html`);
    expect(html.body).toBe(
      '<p><strong>Bold</strong> and <em>italic</em>, <s>struck</s> <code>code</code> <a href="https://example.com/a b" rel="noopener noreferrer nofollow">&#60;b&#62;link&#60;/b&#62;</a></p>\n<p>second * line</p>',
    );

    // Markdown in, Markdown out: the marks come back.
    const imported = await aliceApi.post('/api/documents/import', { title: 'from md', format: 'markdown', content: markdown.body });
    expect(imported.status).toBe(201);
    const [importedVersion] = (await aliceApi.get(`/api/documents/${imported.body.id}/versions`)).body.versions;
    const opened = await aliceApi.get(`/api/documents/${imported.body.id}/versions/${importedVersion.id}`);
    expect(opened.body.runs).toEqual((await aliceApi.get(`/api/documents/${docId}/versions/${version.id}`)).body.runs);
    expect(importedVersion.authors.map((x: { userId: string }) => x.userId)).toEqual([alice.id]);

    // A snapshot holds the whole document, history included.
    const snapshot = await fetch(`${server.httpUrl}/api/documents/${docId}/snapshot`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(snapshot.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await snapshot.arrayBuffer());
    const copy = await bobApi.post('/api/documents/import', { title: 'copy', format: 'snapshot', content: Buffer.from(bytes).toString('base64') });
    expect(copy.status).toBe(201);
    expect((await bobApi.get(`/api/documents/${copy.body.id}/text`)).body.text).toBe(textOf(a.doc));
    const original = new LoroDoc();
    original.import(bytes);
    const copied = await fetch(`${server.httpUrl}/api/documents/${copy.body.id}/snapshot`, { headers: { authorization: `Bearer ${bob.token}` } });
    const copiedDoc = new LoroDoc();
    copiedDoc.import(new Uint8Array(await copied.arrayBuffer()));
    expect(copiedDoc.oplogVersion().toJSON()).toEqual(original.oplogVersion().toJSON());
    expect(copiedDoc.getText(TEXT).toDelta()).toEqual(original.getText(TEXT).toDelta());

    expect((await bobApi.post('/api/documents/import', { format: 'snapshot', content: Buffer.from('not a snapshot').toString('base64') })).status).toBe(400);
    expect((await carolApi.get(`/api/documents/${docId}/versions`)).status).toBe(404);
  });

  it('imports a snapshot larger than any JSON body, sent as bytes; refuses other media types', async () => {
    const big = new LoroDoc();
    configureText(big);
    // Letters that do not compress: the snapshot stays larger than a JSON body may be.
    const letters = Array.from(randomBytes(3 * 1024 * 1024), (b) => String.fromCharCode(97 + (b % 26))).join('');
    big.getText(TEXT).insert(0, letters);
    big.commit();
    const bytes = big.export({ mode: 'snapshot' });
    expect(bytes.length).toBeGreaterThan(MAX_BODY_BYTES);
    const asJson = await bobApi.post('/api/documents/import', { title: 'big', format: 'snapshot', content: Buffer.from(bytes).toString('base64') });
    expect([asJson.status, asJson.body.error.code]).toEqual([413, 'payload_too_large']);
    const post = (body: Uint8Array, type: string): Promise<Response> =>
      fetch(`${server.httpUrl}/api/documents/import/snapshot?title=big`, { method: 'POST', headers: { authorization: `Bearer ${bob.token}`, 'content-type': type }, body: Buffer.from(body) });
    const res = await post(bytes, 'application/octet-stream');
    expect(res.status).toBe(201);
    const made = (await res.json()) as { id: string; title: string };
    expect(made.title).toBe('big');
    expect((await bobApi.get(`/api/documents/${made.id}/text`)).body.text).toBe(letters);
    const wrongType = await post(bytes.slice(0, 100), 'application/json');
    expect([wrongType.status, ((await wrongType.json()) as { error: { code: string } }).error.code]).toEqual([415, 'unsupported_media_type']);
    const garbage = await post(new TextEncoder().encode('not a snapshot'), 'application/octet-stream');
    expect([garbage.status, ((await garbage.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_snapshot']);
  });

  it('lists the history routes in the OpenAPI document', async () => {
    const spec = (await aliceApi.get('/api/openapi.json')).body;
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/documents/{docId}/versions', '/api/documents/{docId}/versions/{versionId}/restore', '/api/documents/import']));
    expect(spec.paths['/api/documents/{docId}/snapshot'].get.responses['200'].content['application/octet-stream']).toBeDefined();
    expect(spec.paths['/api/documents/import/snapshot'].post.requestBody.content['application/octet-stream'].schema).toEqual({ type: 'string', format: 'binary' });
  });
});

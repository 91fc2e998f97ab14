/**
 * What a client may put in a document (issue 18, items 1 and 2): only Tandem's containers and
 * marks, a bounded number of operations per update, a bounded document; refused updates get a
 * named Ack status and are neither stored nor relayed; text exports run off the event loop
 * with a time budget. Each test failed on the code before.
 */
import { LoroDoc } from 'loro-crdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureText } from '../../shared/document';
import { UpdateStatus } from '../../shared/protocol/index';
import { ApiClient } from '../helpers/api-client';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { storedDoc } from '../helpers/stored';
import { createDocument, startTestServer, type RunningServer } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';

const TEXT_LIMIT = 64 * 1024;

/** The update `edit` makes on `doc` (which keeps it). */
function change(doc: LoroDoc, edit: (doc: LoroDoc) => void): Uint8Array {
  const before = doc.oplogVersion();
  edit(doc);
  doc.commit();
  return doc.export({ mode: 'update', from: before });
}

describe.each(backends)('update limits ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await backend.create();
    server = await startTestServer(db, { maxOpsPerUpdate: 1_000, maxDocumentTextBytes: TEXT_LIMIT, maxDocumentBytes: 1024 * 1024 });
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  /** An author and a watcher in a fresh document. */
  async function room(): Promise<{ docId: string; author: RawPeer; watcher: RawPeer; doc: LoroDoc }> {
    const docId = await createDocument(server);
    const author = await RawPeer.connect(server.wsUrl, server.token);
    const watcher = await RawPeer.connect(server.wsUrl, server.token);
    await author.joinAndWait(docId);
    await watcher.joinAndWait(docId);
    const doc = new LoroDoc();
    configureText(doc);
    return { docId, author, watcher, doc };
  }

  it('refuses containers and marks Tandem does not use: neither stored nor relayed (item 2)', async () => {
    const { docId, author, watcher, doc } = await room();
    const foreign: [string, (d: LoroDoc) => void][] = [
      ['tree', (d) => d.getTree('tree').createNode()],
      ['map', (d) => d.getMap('meta').set('owner', 'mallory')],
      [
        'movable list moves',
        (d) => {
          const l = d.getMovableList('list');
          for (let i = 0; i < 50; i++) l.insert(i, i);
          for (let i = 0; i < 200; i++) l.move(i % 50, (i * 7) % 50);
        },
      ],
      [
        'colour mark',
        (d) => {
          d.configTextStyle({ color: { expand: 'after' } });
          d.getText('text').insert(0, 'abc');
          d.getText('text').mark({ start: 0, end: 2 }, 'color', 'red');
        },
      ],
    ];
    for (const [name, edit] of foreign) {
      const attacker = new LoroDoc();
      const ack = await author.ackFor(author.update(docId, [change(attacker, edit)]));
      expect(ack.status, name).toBe(UpdateStatus.InvalidUpdate);
    }
    // A good update after them goes through, and is all the watcher and the database ever got.
    const good = change(doc, (d) => d.getText('text').insert(0, 'hello'));
    expect((await author.ackFor(author.update(docId, [good]))).status).toBe(UpdateStatus.Ok);
    await watcher.until(() => watcher.updatesFor(docId).length > 0);
    const seen = new LoroDoc();
    seen.importBatch(watcher.updatesFor(docId));
    expect(seen.toJSON()).toEqual({ text: 'hello' });
    expect((await storedDoc(db.handle.db, docId)).toJSON()).toEqual({ text: 'hello' });
    expect(server.server.metrics.snapshot().limitHits).toMatchObject({ update_foreign_container: 3, update_foreign_mark: 1 });
  });

  it('refuses a batch whole when one update in it is foreign (item 2)', async () => {
    const { docId, author, doc } = await room();
    const good = change(doc, (d) => d.getText('text').insert(0, 'kept on the client'));
    const bad = change(new LoroDoc(), (d) => d.getCounter('clicks').increment(5));
    expect((await author.ackFor(author.update(docId, [good, bad]))).status).toBe(UpdateStatus.InvalidUpdate);
    expect((await storedDoc(db.handle.db, docId)).toJSON()).toEqual({});
  });

  it('bounds the operations one update carries, however few bytes they take (item 2)', async () => {
    const { docId, author, doc } = await room();
    expect((await author.ackFor(author.update(docId, [change(doc, (d) => d.getText('text').insert(0, 'x'.repeat(5_000)))]))).status).toBe(UpdateStatus.Ok);
    // 2,500 one-character deletes: a few kilobytes, 2,500 operations in every replica.
    const deletes = change(doc, (d) => {
      for (let i = 0; i < 2_500; i++) d.getText('text').delete(i, 1);
    });
    expect(deletes.length).toBeLessThan(16 * 1024);
    expect((await author.ackFor(author.update(docId, [deletes]))).status).toBe(UpdateStatus.PayloadTooLarge);
    expect((await storedDoc(db.handle.db, docId)).getText('text').length).toBe(5_000);
  });

  it('checks snapshots too (off the event loop)', async () => {
    const { docId, author } = await room();
    const foreign = new LoroDoc();
    foreign.getText('text').insert(0, 'looks fine');
    foreign.getTree('hidden').createNode();
    foreign.commit();
    expect((await author.ackFor(author.update(docId, [foreign.export({ mode: 'snapshot' })]))).status).toBe(UpdateStatus.InvalidUpdate);
    const fine = new LoroDoc();
    fine.getText('text').insert(0, 'a snapshot of text');
    fine.commit();
    expect((await author.ackFor(author.update(docId, [fine.export({ mode: 'snapshot' })]))).status).toBe(UpdateStatus.Ok);
    expect((await storedDoc(db.handle.db, docId)).toJSON()).toEqual({ text: 'a snapshot of text' });
  });

  it('bounds a document’s text, and measures it again after deletions (item 1)', async () => {
    const { docId, author, watcher, doc } = await room();
    const text = doc.getText('text');
    const chunk = 'y'.repeat(30 * 1024);
    expect((await author.ackFor(author.update(docId, [change(doc, () => text.insert(0, chunk))]))).status).toBe(UpdateStatus.Ok);
    expect((await author.ackFor(author.update(docId, [change(doc, () => text.insert(0, chunk))]))).status).toBe(UpdateStatus.Ok);
    const third = new LoroDoc();
    third.import(doc.export({ mode: 'snapshot' }));
    const over = change(third, (d) => d.getText('text').insert(0, chunk));
    const refused = await author.ackFor(author.update(docId, [over]));
    expect(refused.status).toBe(UpdateStatus.PayloadTooLarge);
    expect((await storedDoc(db.handle.db, docId)).getText('text').length).toBe(60 * 1024);
    const relayed = new LoroDoc();
    await watcher.until(() => watcher.updatesFor(docId).length >= 2);
    relayed.importBatch(watcher.updatesFor(docId));
    expect(relayed.getText('text').length).toBe(60 * 1024);

    // Delete most of it: once compaction has measured the text, there is room again.
    expect((await author.ackFor(author.update(docId, [change(doc, () => text.delete(0, 50 * 1024))]))).status).toBe(UpdateStatus.Ok);
    const afterDelete = change(doc, () => text.insert(0, chunk));
    // The bound counts the deleted text until a compaction measures it; a refusal asks for one,
    // so the update is taken once that has run (as a client sending it again would find).
    await waitFor(async () => (await author.ackFor(author.update(docId, [afterDelete]))).status === UpdateStatus.Ok, { what: 'the update to fit once measured' });
    expect((await storedDoc(db.handle.db, docId)).getText('text').length).toBe(40 * 1024);

    const api = new ApiClient(server.httpUrl, { token: server.token, origin: null });
    const tooBig = await api.post('/api/documents', { text: 'z'.repeat(TEXT_LIMIT + 1) });
    expect([tooBig.status, tooBig.body.error.code]).toEqual([413, 'document_too_large']);
  });

  it('bounds what a document takes in storage (item 1)', async () => {
    const small = await startTestServer(db, { maxDocumentBytes: 40 * 1024 }, undefined, server.token);
    try {
      const docId = await createDocument(small);
      const author = await RawPeer.connect(small.wsUrl, small.token);
      await author.joinAndWait(docId);
      const doc = new LoroDoc();
      const random = () => Math.random().toString(36).slice(2);
      expect((await author.ackFor(author.update(docId, [change(doc, (d) => d.getText('text').insert(0, Array.from({ length: 6_000 }, random).join('')))]))).status).toBe(UpdateStatus.PayloadTooLarge);
      expect((await author.ackFor(author.update(docId, [change(new LoroDoc(), (d) => d.getText('text').insert(0, 'small'))]))).status).toBe(UpdateStatus.Ok);
      author.close();
    } finally {
      await small.close();
    }
  });

  it('exports text off the event loop, within a time budget (item 1)', async () => {
    const docId = await createDocument(server, { text: 'exported' });
    const api = new ApiClient(server.httpUrl, { token: server.token, origin: null });
    expect((await api.get(`/api/documents/${docId}/text`)).body).toEqual({ text: 'exported' });
    const strict = await startTestServer(db, { heavyWorkTimeoutMs: 1 }, undefined, server.token);
    try {
      const slow = await new ApiClient(strict.httpUrl, { token: server.token, origin: null }).get(`/api/documents/${docId}/text`);
      expect([slow.status, slow.body.error.code]).toEqual([503, 'export_timeout']);
      // The node kept serving, and its heavy-work thread was replaced, not lost.
      expect((await fetch(`${strict.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

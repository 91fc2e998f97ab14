/**
 * Must-show 5: every kind of bad input gets the protocol's answer (JoinError, Ack status,
 * RoomError or a typed close), and the room, the stored document and everyone else are fine.
 */
import { LoroDoc } from 'loro-crdt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStoredDocument } from '../../db/repositories/doc-log';
import type { JoinAuthorizer } from '../../server/sync/authorizer';
import {
  AppErrorCode,
  CloseCode,
  CloseReason,
  CrdtType,
  JoinErrorCode,
  MAX_MESSAGE_BYTES,
  MessageType,
  UpdateStatus,
  encodeMessage,
  newBatchId,
  type BatchId,
  type JoinError,
} from '../../shared/protocol/index';
import { newDocumentId } from '../../shared/ids';
import { backends, type TestDatabase } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { lockTable, storedDoc } from '../helpers/stored';
import { createDocument, startTestServer, type RunningServer } from '../helpers/test-server';
import { TEXT } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

function edit(doc: LoroDoc, text: string): Uint8Array {
  const before = doc.oplogVersion();
  doc.getText(TEXT).insert(0, text);
  doc.commit();
  return doc.export({ mode: 'update', from: before });
}

/** Documents in this set are read-only for everyone: the auth seam at work. */
const readOnlyDocs = new Set<string>();
const readOnlyForSomeDocs = (inner: JoinAuthorizer): JoinAuthorizer => ({
  async authorizeJoin(request) {
    const decision = await inner.authorizeJoin(request);
    return decision.ok && readOnlyDocs.has(request.docId) ? { ok: true, permission: 'read' } : decision;
  },
});

describe.each(backends)('bad input ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  /** A document a well-behaved peer keeps editing through every test. */
  let healthyDoc: string;
  let healthy: RawPeer;
  let observer: RawPeer;
  const healthyDocState = new LoroDoc();

  beforeAll(async () => {
    db = await backend.create();
    const { DocumentAuthorizer } = await import('../../server/sync/authorizer');
    server = await startTestServer(
      db,
      { fragmentTimeoutMs: 300, joinBurst: 20, joinsPerSecond: 1, maxRoomsPerConnection: 4, maxUpdateBytes: 1024 * 1024 },
      readOnlyForSomeDocs(new DocumentAuthorizer(db.handle.db)),
    );
    healthyDoc = await createDocument(server);
    healthy = await RawPeer.connect(server.wsUrl, server.token);
    observer = await RawPeer.connect(server.wsUrl, server.token);
    expect((await healthy.joinAndWait(healthyDoc)).type).toBe(MessageType.JoinResponseOk);
    expect((await observer.joinAndWait(healthyDoc)).type).toBe(MessageType.JoinResponseOk);
  });

  afterAll(async () => {
    healthy.close();
    observer.close();
    await server.close();
    await db.drop();
  });

  /** The rest of the server still works: an edit elsewhere is acked, stored and relayed. */
  async function expectOthersUnaffected(): Promise<void> {
    const update = edit(healthyDocState, 'ok ');
    const ack = await healthy.ackFor(healthy.update(healthyDoc, [update]));
    expect(ack.status).toBe(UpdateStatus.Ok);
    // Everything relayed to the observer adds up to the document as edited.
    const expected = healthyDocState.getText(TEXT).toString();
    await observer.until(
      () => {
        const seen = new LoroDoc();
        seen.importBatch(observer.updatesFor(healthyDoc));
        return seen.getText(TEXT).toString() === expected;
      },
      { what: 'the observer to receive every edit' },
    );
    const replica = await storedDoc(db.handle.db, healthyDoc);
    expect(replica.getText(TEXT).toString()).toBe(healthyDocState.getText(TEXT).toString());
  }

  async function closeCodeAfter(send: (peer: RawPeer) => void): Promise<{ code: number; reason: string }> {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    send(peer);
    return peer.closed();
  }

  it('a frame over 256 KiB closes that socket with 1009', async () => {
    const closed = await closeCodeAfter((p) => p.sendRaw(new Uint8Array(MAX_MESSAGE_BYTES + 1)));
    expect(closed.code).toBe(1009);
    await expectOthersUnaffected();
  });

  it('garbage and truncated frames close with malformed_frame', async () => {
    const garbage = await closeCodeAfter((p) => p.sendRaw(new Uint8Array([1, 2, 3, 4, 5, 6])));
    expect(garbage).toEqual({ code: CloseCode.MalformedFrame, reason: CloseReason[CloseCode.MalformedFrame] });
    const join = encodeMessage({ type: MessageType.JoinRequest, crdt: CrdtType.Loro, roomId: healthyDoc, auth: new Uint8Array(0), version: new Uint8Array(3) });
    const truncated = await closeCodeAfter((p) => p.sendRaw(join.subarray(0, join.length - 2)));
    expect(truncated.code).toBe(CloseCode.MalformedFrame);
    await expectOthersUnaffected();
  });

  it('a room id over 128 bytes closes with malformed_frame', async () => {
    const frame = new Uint8Array([...new TextEncoder().encode('%LOR'), 129, 1, ...new Uint8Array(129).fill(97), 7]);
    const closed = await closeCodeAfter((p) => p.sendRaw(frame));
    expect(closed.code).toBe(CloseCode.MalformedFrame);
    await expectOthersUnaffected();
  });

  it('answers ping with pong; other text frames close with unsupported_frame', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    peer.sendRaw('ping');
    await waitFor(() => peer.texts.length > 0, { what: 'pong' });
    expect(peer.texts).toEqual(['pong']);
    peer.sendRaw('hello');
    expect(await peer.closed()).toEqual({ code: CloseCode.UnsupportedFrame, reason: 'unsupported_frame' });
    await expectOthersUnaffected();
  });

  it('unknown rooms, malformed room ids and unsupported CRDTs get JoinErrors', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    const unknown = (await peer.joinAndWait(newDocumentId())) as JoinError;
    expect(unknown).toMatchObject({ type: MessageType.JoinError, code: JoinErrorCode.AppError, appCode: AppErrorCode.RoomNotFound });
    const notAnId = (await peer.joinAndWait('../../etc/passwd')) as JoinError;
    expect(notAnId).toMatchObject({ code: JoinErrorCode.AppError, appCode: AppErrorCode.RoomNotFound });
    const yjs = (await peer.joinAndWait(healthyDoc, { crdt: CrdtType.Yjs })) as JoinError;
    expect(yjs).toMatchObject({ code: JoinErrorCode.AppError, appCode: AppErrorCode.UnsupportedCrdt });
    const badVersion = (await peer.joinAndWait(healthyDoc, { version: new Uint8Array([0xff, 0xff, 0xff]) })) as JoinError;
    expect(badVersion.code).toBe(JoinErrorCode.VersionUnknown);
    expect(badVersion.receiverVersion?.length).toBeGreaterThan(0);
    peer.close();
    await expectOthersUnaffected();
  });

  it('an update Loro rejects gets invalid_update and changes nothing', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    await peer.joinAndWait(healthyDoc);
    const before = await loadStoredDocument(db.handle.db, healthyDoc);
    const ack = await peer.ackFor(peer.update(healthyDoc, [new Uint8Array([0x6c, 0x6f, 0x72, 0x6f, 1, 2, 3])]));
    expect(ack.status).toBe(UpdateStatus.InvalidUpdate);
    const after = await loadStoredDocument(db.handle.db, healthyDoc);
    expect(after.headSeq).toBe(before.headSeq);
    peer.close();
    await expectOthersUnaffected();
  });

  it('updates to a room not joined, and from a viewer, get permission_denied and are not stored', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    const notJoined = await peer.ackFor(peer.update(healthyDoc, [edit(new LoroDoc(), 'sneaky')]));
    expect(notJoined.status).toBe(UpdateStatus.PermissionDenied);

    const readOnly = await createDocument(server);
    readOnlyDocs.add(readOnly);
    const join = await peer.joinAndWait(readOnly);
    expect(join).toMatchObject({ type: MessageType.JoinResponseOk, permission: 'read' });
    const viewerWrite = await peer.ackFor(peer.update(readOnly, [edit(new LoroDoc(), 'viewer')]));
    expect(viewerWrite.status).toBe(UpdateStatus.PermissionDenied);
    // A viewer's fragments are refused before anything is buffered.
    const batchId = newBatchId();
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: readOnly, batchId, fragmentCount: 2, totalSizeBytes: 10 });
    expect((await peer.ackFor(batchId)).status).toBe(UpdateStatus.PermissionDenied);
    expect((await loadStoredDocument(db.handle.db, readOnly)).headSeq).toBe(0);
    // Viewers still share presence.
    await peer.joinAndWait(readOnly, { crdt: CrdtType.LoroEphemeralStore });
    peer.close();
    await expectOthersUnaffected();
  });

  it('fragments that never complete get fragment_timeout; oversized ones payload_too_large', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    await peer.joinAndWait(healthyDoc);
    const stalled = newBatchId();
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: stalled, fragmentCount: 2, totalSizeBytes: 2048 });
    peer.send({ type: MessageType.DocUpdateFragment, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: stalled, index: 0, fragment: new Uint8Array(1024) });
    expect((await peer.ackFor(stalled)).status).toBe(UpdateStatus.FragmentTimeout);

    // A header announcing millions of tiny fragments (a memory bomb) is refused outright.
    const bomb = newBatchId();
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: bomb, fragmentCount: 1_000_000, totalSizeBytes: 1_000_000 });
    expect((await peer.ackFor(bomb)).status).toBe(UpdateStatus.InvalidUpdate);

    // Announcing more than the socket may hold at once is refused: nothing is reserved for it.
    const ids = [newBatchId(), newBatchId(), newBatchId()];
    for (const batchId of ids) {
      peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId, fragmentCount: 4, totalSizeBytes: 1024 * 1024 });
    }
    expect((await peer.ackFor(ids[2]!)).status).toBe(UpdateStatus.RateLimited);
    // The two that fit are dropped when nothing more arrives.
    for (const batchId of ids.slice(0, 2)) expect((await peer.ackFor(batchId)).status).toBe(UpdateStatus.FragmentTimeout);

    const huge = newBatchId();
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: huge, fragmentCount: 40, totalSizeBytes: 10 * 1024 * 1024 });
    expect((await peer.ackFor(huge)).status).toBe(UpdateStatus.PayloadTooLarge);

    const lying = newBatchId();
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: lying, fragmentCount: 1, totalSizeBytes: 4 });
    peer.send({ type: MessageType.DocUpdateFragment, crdt: CrdtType.Loro, roomId: healthyDoc, batchId: lying, index: 0, fragment: new Uint8Array(9) });
    expect((await peer.ackFor(lying)).status).toBe(UpdateStatus.InvalidUpdate);
    peer.close();
    await expectOthersUnaffected();
  });

  // Commits are held by a lock another connection takes: a Postgres server's only.
  it.skipIf(backend.name !== 'postgres')("an invalid batch's valid part counts against the socket's pending bytes until it is written", async () => {
    const tight = await startTestServer(db, { maxPendingBytesPerConnection: 8 * 1024 });
    const peer = await RawPeer.connect(tight.wsUrl, tight.token);
    try {
      const docId = await createDocument(tight);
      await peer.joinAndWait(docId);
      const doc = new LoroDoc();
      const valid = edit(doc, 'v'.repeat(3_000));
      // A body byte changed: the update check reads it as well formed, Loro's checksum refuses it.
      const corrupt = edit(doc, 'c'.repeat(3_000)).slice();
      corrupt[16]! ^= 1;
      const unlock = await lockTable(db.handle.db, 'doc_updates');
      try {
        expect((await peer.ackFor(peer.update(docId, [valid, corrupt]))).status).toBe(UpdateStatus.InvalidUpdate);
        // Its valid 3 KB wait for the commit: 3 KB more would pass the socket's 8 KB.
        expect((await peer.ackFor(peer.update(docId, [edit(new LoroDoc(), 'n'.repeat(6_000))]))).status).toBe(UpdateStatus.RateLimited);
      } finally {
        await unlock();
      }
      // Written, they count no more.
      expect((await peer.ackFor(peer.update(docId, [edit(new LoroDoc(), 'after')]))).status).toBe(UpdateStatus.Ok);
      expect((await storedDoc(db.handle.db, docId)).getText(TEXT).toString()).toContain('v'.repeat(3_000));
    } finally {
      peer.close();
      await tight.close();
    }
  });

  it.skipIf(backend.name !== 'postgres')("frames waiting behind their room's join stop the socket's reading past its pending bytes; none is lost", async () => {
    const tight = await startTestServer(db, { maxPendingBytesPerConnection: 32 * 1024 });
    const peer = await RawPeer.connect(tight.wsUrl, tight.token);
    try {
      const docId = await createDocument(tight);
      // The join reads the document: held, it keeps every later frame of the room waiting.
      const unlock = await lockTable(db.handle.db, 'documents');
      const doc = new LoroDoc();
      const sent: { id: BatchId; update: Uint8Array }[] = [];
      try {
        peer.join(docId);
        for (let i = 0; i < 40; i++) {
          const update = edit(doc, `${i}:${'x'.repeat(2_000)}`);
          sent.push({ id: peer.update(docId, [update]), update });
        }
        await waitFor(() => (tight.server.metrics.snapshot().limitHits.socket_backlog ?? 0) >= 1, { what: 'the socket to stop reading' });
      } finally {
        await unlock();
      }
      // Read again once the join is through: every update stored, some after a resend (the
      // socket's pending bytes are also what may wait for a commit: rate_limited, as a client's outbox resends).
      for (const { id, update } of sent) {
        let status = (await peer.ackFor(id)).status;
        while (status === UpdateStatus.RateLimited) status = (await peer.ackFor(peer.update(docId, [update]))).status;
        expect(status).toBe(UpdateStatus.Ok);
      }
      expect((await storedDoc(db.handle.db, docId)).getText(TEXT).toString()).toBe(doc.getText(TEXT).toString());
    } finally {
      peer.close();
      await tight.close();
    }
  });

  it('a fragmented update is reassembled, stored and acked', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    await peer.joinAndWait(healthyDoc);
    const big = new LoroDoc();
    big.import(healthyDocState.export({ mode: 'update' }));
    const before = big.oplogVersion();
    big.getText(TEXT).insert(0, Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join(''));
    big.commit();
    const update = big.export({ mode: 'update', from: before });
    expect(update.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const batchId = newBatchId();
    const chunk = 200 * 1024;
    const count = Math.ceil(update.length / chunk);
    peer.send({ type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: healthyDoc, batchId, fragmentCount: count, totalSizeBytes: update.length });
    for (let i = 0; i < count; i++) {
      peer.send({ type: MessageType.DocUpdateFragment, crdt: CrdtType.Loro, roomId: healthyDoc, batchId, index: i, fragment: update.subarray(i * chunk, (i + 1) * chunk) });
    }
    expect((await peer.ackFor(batchId)).status).toBe(UpdateStatus.Ok);
    healthyDocState.import(update);
    // The observer gets it as fragments too.
    await observer.next((m) => m.type === MessageType.DocUpdateFragmentHeader && m.roomId === healthyDoc);
    peer.close();
    await expectOthersUnaffected();
  });

  it('too many rooms on one socket get too_many_rooms; a join flood gets rate_limited JoinErrors', async () => {
    const peer = await RawPeer.connect(server.wsUrl, server.token);
    const docs = await Promise.all([1, 2, 3, 4, 5].map(() => createDocument(server)));
    for (const doc of docs.slice(0, 4)) expect((await peer.joinAndWait(doc)).type).toBe(MessageType.JoinResponseOk);
    const fifth = (await peer.joinAndWait(docs[4]!)) as JoinError;
    expect(fifth).toMatchObject({ code: JoinErrorCode.AppError, appCode: AppErrorCode.TooManyRooms });
    peer.close();

    // A flood of joins: past the burst, each is refused (retryable), and the socket stays up.
    const flood = await RawPeer.connect(server.wsUrl, server.token);
    for (let i = 0; i < 100; i++) flood.join(healthyDoc);
    const refused = (await flood.next((m) => m.type === MessageType.JoinError)) as JoinError;
    expect(refused).toMatchObject({ code: JoinErrorCode.AppError, appCode: AppErrorCode.RateLimited });
    await flood.until(() => flood.messages.filter((m) => m.type === MessageType.JoinResponseOk || m.type === MessageType.JoinError).length === 100, {
      what: 'an answer to every join',
    });
    expect(flood.closeEvent).toBeNull();
    flood.close();
    await expectOthersUnaffected();
  });
});

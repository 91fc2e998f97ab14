/**
 * Durable throughput for a Loro client that does not merge its backlog: automerge-paper sent
 * by a bare loro-protocol client, one update per patch, `inFlight` updates awaiting their Ack
 * at any time (a careful client: it forgets an update only once acknowledged). Unlike the
 * replay through Tandem's own client, nothing is merged, so every update is its own message
 * and its own Ack: what the official `loro-websocket` client or another app would send.
 *
 * Runs against any server speaking loro-protocol with Acks (Tandem, loro's SimpleServer); the
 * updates are made before the clock starts, so the figure is the server's, not Loro's.
 */
import { LoroDoc } from 'loro-crdt';
import WebSocket from 'ws';
import { CrdtType, MessageType, UpdateStatus, decodeMessage, encodeJoinAuth, encodeMessage, newBatchId, type BatchId } from '../../../shared/protocol/index';
import { loadSequentialTrace, patchesOf } from '../../helpers/traces';
import { percentile, round } from '../stats';

export interface RawDurableResult {
  updates: number;
  inFlight: number;
  seconds: number;
  updatesPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** CPU seconds of the server processes, and of Postgres (null: inside the server), while sending. */
  serverCpuSeconds: number;
  databaseCpuSeconds?: number | null;
}

let made: Uint8Array[] | null = null;

/** automerge-paper as its author's client would send it: one Loro update per patch. */
export function paperUpdates(): Uint8Array[] {
  if (made) return made;
  const doc = new LoroDoc();
  const text = doc.getText('text');
  const updates: Uint8Array[] = [];
  for (const [pos, del, ins] of patchesOf(loadSequentialTrace('automerge-paper'))) {
    const before = doc.oplogVersion();
    if (del > 0) text.delete(pos, del);
    if (ins.length > 0) text.insert(pos, ins);
    doc.commit();
    updates.push(doc.export({ mode: 'update', from: before }));
    before.free();
  }
  made = updates;
  doc.free();
  return updates;
}

/** Sends `updates` to room `docId` keeping `inFlight` unacknowledged; resolves once every one is acknowledged. */
export async function rawDurable(url: string, docId: string, token: string | null, updates: readonly Uint8Array[], inFlight: number): Promise<{ seconds: number; latencies: number[] }> {
  const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const sentAt = new Map<BatchId, number>();
  const latencies: number[] = [];
  let failed!: (error: Error) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  ws.once('close', (code) => failed(new Error(`socket closed (${code})`)));
  let joined!: () => void;
  const joinedP = new Promise<void>((resolve) => (joined = resolve));
  let done!: () => void;
  const doneP = new Promise<void>((resolve) => (done = resolve));
  let next = 0;
  let acked = 0;
  const send = (): void => {
    const update = updates[next++]!;
    const batchId = newBatchId();
    sentAt.set(batchId, performance.now());
    ws.send(encodeMessage({ type: MessageType.DocUpdate, crdt: CrdtType.Loro, roomId: docId, updates: [update], batchId }));
  };
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const decoded = decodeMessage(new Uint8Array(data as Buffer));
    if (!decoded.ok) return failed(decoded.error);
    const m = decoded.message;
    if (m.type === MessageType.JoinResponseOk) joined();
    else if (m.type === MessageType.JoinError) failed(new Error(`join refused (${m.code})`));
    else if (m.type === MessageType.Ack) {
      const sent = sentAt.get(m.refId);
      if (sent === undefined) return;
      if (m.status !== UpdateStatus.Ok) return failed(new Error(`ack status ${m.status}`));
      sentAt.delete(m.refId);
      latencies.push(performance.now() - sent);
      if (++acked === updates.length) done();
      else if (next < updates.length) send();
    }
  });
  ws.send(encodeMessage({ type: MessageType.JoinRequest, crdt: CrdtType.Loro, roomId: docId, auth: encodeJoinAuth({}), version: new Uint8Array(0) }));
  await Promise.race([joinedP, failure]);
  const started = performance.now();
  while (next < Math.min(inFlight, updates.length)) send();
  await Promise.race([doneP, failure]);
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  return { seconds, latencies };
}

/** The figure: `count` updates of automerge-paper (all of it by default). */
export async function rawDurableRun(options: {
  url: string;
  docId: string;
  token: string | null;
  count?: number;
  inFlight?: number;
  cpu: () => { server: number; database: number | null | undefined };
}): Promise<RawDurableResult> {
  const all = paperUpdates();
  const updates = all.slice(0, options.count ?? all.length);
  const inFlight = options.inFlight ?? 64;
  const before = options.cpu();
  const { seconds, latencies } = await rawDurable(options.url, options.docId, options.token, updates, inFlight);
  const after = options.cpu();
  const database = before.database === undefined || after.database === undefined ? undefined : before.database === null || after.database === null ? null : round(after.database - before.database, 2);
  return {
    updates: updates.length,
    inFlight,
    seconds: round(seconds, 2),
    updatesPerSecond: round(updates.length / seconds),
    ackP50Ms: round(percentile(latencies, 50), 2),
    ackP99Ms: round(percentile(latencies, 99), 2),
    serverCpuSeconds: round(after.server - before.server, 2),
    ...(database === undefined ? {} : { databaseCpuSeconds: database }),
  };
}

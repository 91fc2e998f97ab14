/**
 * A raw protocol peer for tests: sends any frame, records every decoded message and the close
 * event, and waits for what a test expects. No reconnects, no retries: what you send is sent.
 */
import WebSocket from 'ws';
import {
  CrdtType,
  MessageType,
  decodeMessage,
  encodeMessage,
  randomBatchId,
  type Ack,
  type BatchId,
  type ProtocolMessage,
} from '../../shared/protocol/index';
import { waitFor } from './wait';

export class RawPeer {
  readonly messages: ProtocolMessage[] = [];
  readonly texts: string[] = [];
  closeEvent: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const bytes = new Uint8Array(data as Buffer);
      if (!isBinary) {
        this.texts.push(Buffer.from(bytes).toString());
        return;
      }
      const decoded = decodeMessage(bytes);
      if (!decoded.ok) throw decoded.error;
      this.messages.push(decoded.message);
    });
    ws.on('close', (code, reason) => {
      this.closeEvent = { code, reason: reason.toString() };
    });
  }

  static async connect(url: string): Promise<RawPeer> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawPeer(ws);
  }

  send(message: ProtocolMessage): void {
    this.ws.send(encodeMessage(message));
  }

  sendRaw(data: Uint8Array | string, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  join(roomId: string, { crdt = CrdtType.Loro, version = new Uint8Array(0) }: { crdt?: CrdtType; version?: Uint8Array } = {}): void {
    this.send({ type: MessageType.JoinRequest, crdt, roomId, auth: new Uint8Array(0), version });
  }

  /** Joins and waits for the answer (JoinResponseOk or JoinError). */
  async joinAndWait(roomId: string, options: { crdt?: CrdtType; version?: Uint8Array } = {}): Promise<ProtocolMessage> {
    const crdt = options.crdt ?? CrdtType.Loro;
    const from = this.messages.length;
    this.join(roomId, options);
    return this.next(
      (m) => m.roomId === roomId && m.crdt === crdt && (m.type === MessageType.JoinResponseOk || m.type === MessageType.JoinError),
      from,
    );
  }

  /** Sends a DocUpdate and returns its batch id. */
  update(roomId: string, updates: Uint8Array[], { crdt = CrdtType.Loro, batchId = randomBatchId() }: { crdt?: CrdtType; batchId?: BatchId } = {}): BatchId {
    this.send({ type: MessageType.DocUpdate, crdt, roomId, updates, batchId });
    return batchId;
  }

  ackFor(batchId: BatchId): Promise<Ack> {
    return this.next((m): m is Ack => m.type === MessageType.Ack && m.refId === batchId) as Promise<Ack>;
  }

  /** The first message from index `from` on that matches. */
  next(match: (m: ProtocolMessage) => boolean, from = 0, timeoutMs = 10_000): Promise<ProtocolMessage> {
    return waitFor(() => this.messages.slice(from).find(match), { timeoutMs, what: 'a matching message' });
  }

  /** Updates received for a room (DocUpdate payloads, in order). */
  updatesFor(roomId: string, crdt: CrdtType = CrdtType.Loro): Uint8Array[] {
    return this.messages.flatMap((m) => (m.type === MessageType.DocUpdate && m.roomId === roomId && m.crdt === crdt ? m.updates : []));
  }

  closed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closeEvent, { timeoutMs, what: 'the socket to close' });
  }

  close(): void {
    this.ws.close();
  }
}

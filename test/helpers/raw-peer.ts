/**
 * A raw protocol peer for tests: sends any frame, records every decoded message and the close
 * event, and waits for what a test expects. No reconnects, no retries: what you send is sent.
 */
import WebSocket from 'ws';
import { CrdtType, MessageType, decodeMessage, encodeJoinAuth, encodeMessage, newBatchId, type Ack, type BatchId, type ProtocolMessage } from '../../shared/protocol/index';
import { FragmentAssembler } from '../../shared/fragment-assembler';

export interface JoinOptions {
  crdt?: CrdtType;
  version?: Uint8Array;
  /** A share token, sent in the join payload. */
  share?: string;
}

export class RawPeer {
  readonly messages: ProtocolMessage[] = [];
  readonly texts: string[] = [];
  readonly acks = new Map<BatchId, Ack>();
  /** Updates received per room (`crdt + roomId`), DocUpdates and reassembled fragments, in order. */
  private readonly received = new Map<string, Uint8Array[]>();
  private readonly assembler = new FragmentAssembler({ maxUpdateBytes: 1 << 30, maxConcurrentBatches: 1_000 });
  closeEvent: { code: number; reason: string } | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const bytes = new Uint8Array(data as Buffer);
      if (!isBinary) {
        this.texts.push(Buffer.from(bytes).toString());
      } else {
        const decoded = decodeMessage(bytes);
        if (!decoded.ok) throw decoded.error;
        const m = decoded.message;
        this.messages.push(m);
        const key = m.crdt + m.roomId;
        const into = (updates: Uint8Array[]): void => {
          this.received.set(key, [...(this.received.get(key) ?? []), ...updates]);
        };
        if (m.type === MessageType.Ack) this.acks.set(m.refId, m);
        else if (m.type === MessageType.DocUpdate) into(m.updates);
        else if (m.type === MessageType.DocUpdateFragmentHeader) this.assembler.header(m);
        else if (m.type === MessageType.DocUpdateFragment) {
          const result = this.assembler.fragment(m);
          if (result.kind === 'complete') into([result.update]);
        }
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeEvent = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with `check()`'s value once it is truthy, re-checking on every frame received. */
  until<T>(check: () => T | undefined | null | false, { timeoutMs = 10_000, what = 'a condition' } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined || value === null || value === false) return false;
        this.waiters.delete(attempt as () => void);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(attempt as () => void);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      if (!attempt()) this.waiters.add(attempt as () => void);
    });
  }

  /** Connects, with a bearer token when given (as scripts do). */
  static async connect(url: string, token?: string, headers: Record<string, string> = {}): Promise<RawPeer> {
    const ws = new WebSocket(url, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
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

  join(roomId: string, { crdt = CrdtType.Loro, version = new Uint8Array(0), share }: JoinOptions = {}): void {
    this.send({ type: MessageType.JoinRequest, crdt, roomId, auth: encodeJoinAuth(share ? { share } : {}), version });
  }

  /** Joins and waits for the answer (JoinResponseOk or JoinError). */
  async joinAndWait(roomId: string, options: JoinOptions = {}): Promise<ProtocolMessage> {
    const crdt = options.crdt ?? CrdtType.Loro;
    const from = this.messages.length;
    this.join(roomId, options);
    return this.next((m) => m.roomId === roomId && m.crdt === crdt && (m.type === MessageType.JoinResponseOk || m.type === MessageType.JoinError), from);
  }

  /** Sends a DocUpdate and returns its batch id. */
  update(roomId: string, updates: Uint8Array[], { crdt = CrdtType.Loro, batchId = newBatchId() }: { crdt?: CrdtType; batchId?: BatchId } = {}): BatchId {
    this.send({ type: MessageType.DocUpdate, crdt, roomId, updates, batchId });
    return batchId;
  }

  ackFor(batchId: BatchId, timeoutMs = 30_000): Promise<Ack> {
    return this.until(() => this.acks.get(batchId), { timeoutMs, what: `the Ack of ${batchId}` });
  }

  /** The first message from index `from` on that matches. */
  next(match: (m: ProtocolMessage) => boolean, from = 0, timeoutMs = 10_000): Promise<ProtocolMessage> {
    let scanned = from;
    return this.until(
      () => {
        for (; scanned < this.messages.length; scanned++) if (match(this.messages[scanned]!)) return this.messages[scanned];
        return undefined;
      },
      { timeoutMs, what: 'a matching message' },
    );
  }

  /** Updates received for a room (DocUpdates and reassembled fragments, in order). */
  updatesFor(roomId: string, crdt: CrdtType = CrdtType.Loro): Uint8Array[] {
    return this.received.get(crdt + roomId) ?? [];
  }

  closed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closeEvent, { timeoutMs, what: 'the socket to close' });
  }

  close(): void {
    this.ws.close();
  }
}

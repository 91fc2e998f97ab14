/**
 * Tandem's sync client: one WebSocket to one server, any number of documents over it
 * (`client-room.ts`: one document; `outbox.ts`: its unacknowledged edits;
 * `presence-channel.ts`: its presence room).
 *
 * The socket reconnects with exponential backoff and jitter unless the server closed it for a
 * reason retrying cannot fix; after every reconnect each room joins again and resends its
 * outbox.
 *
 * It runs wherever a standard `WebSocket` does (extension background, pages, Node with `ws`):
 * the socket constructor and the outbox storage are injected, and it imports no Node or DOM
 * module. Timers are the only ambient API it uses.
 */
import { LoroDoc } from 'loro-crdt';
import { CrdtType, FRAGMENT_TIMEOUT_MS, MessageType, PING, PONG, UpdateStatus, decodeMessage, encodeMessage, isRetryableClose, type ProtocolMessage } from '../protocol/index';
import { FragmentAssembler } from '../fragment-assembler';
import { hop } from '../trace';
import { ClientRoom, type RoomHost } from './client-room';
import { memoryOutbox, type OutboxStore } from './outbox';
import { PresenceChannel, type PresenceHost, type PresenceOptions } from './presence-channel';

export { ClientRoom, RoomFailure, type RoomStatus } from './client-room';
export type { OutboxStore } from './outbox';
export { PresenceChannel, type PresenceOptions, type PresenceState } from './presence-channel';

/** The part of the WHATWG WebSocket the client uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

const OPEN = 1;

export type ConnectionStatus = 'connecting' | 'open' | 'closed';

export interface SyncClientOptions {
  /** WebSocket URL of the server's `/sync`, or a function giving a fresh one per attempt (tickets). */
  url: string | (() => string | Promise<string>);
  /** The WebSocket constructor (the global one in browsers; `ws` in Node). */
  WebSocket: new (
    url: string,
  ) => WebSocketLike;
  /** Reconnect backoff: first delay, cap, and random spread (0–1). Defaults 250 ms, 10 s, 0.5. */
  backoff?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** Keep-alive ping interval. 20 s: Chrome keeps an MV3 worker alive while traffic flows at least every 30 s. */
  pingIntervalMs?: number;
  /** Most update batches in flight per room before waiting for Acks. Default 64. */
  maxInFlightBatches?: number;
  /** Called with every protocol-level error the client sees (for logs and UI). */
  onError?: (error: Error) => void;
}

export class SyncClient implements PresenceHost, RoomHost {
  private ws: WebSocketLike | null = null;
  private readonly rooms = new Map<string, ClientRoom>();
  private readonly presences = new Map<string, PresenceChannel>();
  private readonly assembler = new FragmentAssembler({
    maxUpdateBytes: 256 * 1024 * 1024,
    maxConcurrentBatches: 64,
    timeout: {
      ms: FRAGMENT_TIMEOUT_MS,
      onTimeout: ({ crdt, roomId, batchId }) => this.sendMessage({ type: MessageType.Ack, crdt, roomId, refId: batchId, status: UpdateStatus.FragmentTimeout }),
    },
  });
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private attempts = 0;
  private stopped = false;
  status: ConnectionStatus = 'closed';
  /** The last close code and reason from the server. */
  lastClose: { code: number; reason: string } | null = null;
  readonly maxInFlight: number;
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();

  constructor(private readonly options: SyncClientOptions) {
    this.maxInFlight = options.maxInFlightBatches ?? 64;
    void this.connect();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === OPEN && this.status === 'open';
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    for (const l of this.statusListeners) l(status);
  }

  /** Starts syncing `doc` as document `docId`. Local edits are captured from now on. */
  async open(docId: string, doc: LoroDoc = new LoroDoc(), store: OutboxStore = memoryOutbox, auth: Uint8Array = new Uint8Array(0)): Promise<ClientRoom> {
    if (this.rooms.has(docId)) throw new Error(`document ${docId} is already open`);
    const room = new ClientRoom(this, docId, doc, store, auth);
    this.rooms.set(docId, room);
    await room.start();
    if (this.isOpen) this.sendMessage(room.joinRequest());
    return room;
  }

  /**
   * The presence room of an open document: joined now (with the document's auth) and after
   * every reconnect. One per document; later calls return the same channel.
   */
  presence(docId: string, options: PresenceOptions = {}): PresenceChannel {
    const existing = this.presences.get(docId);
    if (existing) return existing;
    const room = this.rooms.get(docId);
    if (!room) throw new Error(`document ${docId} is not open`);
    const channel = new PresenceChannel(this, docId, room.auth, options);
    this.presences.set(docId, channel);
    if (this.isOpen) this.sendMessage(channel.joinRequest());
    return channel;
  }

  /** Stops syncing a document (its outbox stays in its store), and leaves its presence room. */
  leave(docId: string): void {
    const presence = this.presences.get(docId);
    if (presence) {
      this.presences.delete(docId);
      if (this.isOpen) this.sendMessage({ type: MessageType.Leave, crdt: CrdtType.LoroEphemeralStore, roomId: docId });
      presence.dispose();
    }
    const room = this.rooms.get(docId);
    if (!room) return;
    this.rooms.delete(docId);
    if (this.isOpen) this.sendMessage({ type: MessageType.Leave, crdt: CrdtType.Loro, roomId: docId });
    room.dispose();
  }

  /** Closes the socket for good. */
  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopPing();
    this.assembler.clear();
    this.ws?.close(1000, 'client closed');
    this.ws = null;
    for (const room of this.rooms.values()) room.dispose();
    this.rooms.clear();
    for (const presence of this.presences.values()) presence.dispose();
    this.presences.clear();
    this.setStatus('closed');
  }

  /** Drops the socket as if the network failed, and reconnects (for tests and "retry now"). */
  reconnectNow(): void {
    this.attempts = 0;
    const ws = this.ws;
    if (ws) ws.close(4000, 'client reconnect');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setStatus('connecting');
    let url: string;
    try {
      url = typeof this.options.url === 'string' ? this.options.url : await this.options.url();
    } catch (error) {
      this.reportError(error);
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const ws = new this.options.WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempts = 0;
      this.setStatus('open');
      this.startPing();
      for (const room of this.rooms.values()) if (room.status !== 'failed') this.sendMessage(room.joinRequest());
      for (const presence of this.presences.values()) if (presence.status !== 'failed') this.sendMessage(presence.joinRequest());
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      if (typeof event.data === 'string') {
        if (event.data === PING) ws.send(PONG);
        return;
      }
      hop('socket-receive');
      this.receive(new Uint8Array(event.data as ArrayBuffer));
    };
    ws.onerror = () => {
      // Always followed by `close`, which decides what to do.
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      this.lastClose = { code: event.code, reason: event.reason };
      this.assembler.clear();
      for (const room of this.rooms.values()) room.socketLost();
      for (const presence of this.presences.values()) presence.socketLost();
      this.setStatus('closed');
      if (isRetryableClose(event.code)) this.scheduleReconnect();
      else this.reportError(new Error(`server closed the connection: ${event.code} ${event.reason}`));
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const { initialMs = 250, maxMs = 10_000, jitter = 0.5 } = this.options.backoff ?? {};
    const base = Math.min(maxMs, initialMs * 2 ** this.attempts++);
    const delay = base * (1 - jitter / 2 + Math.random() * jitter);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (this.ws?.readyState === OPEN) this.ws.send(PING);
    }, this.options.pingIntervalMs ?? 20_000);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private receive(frame: Uint8Array): void {
    const decoded = decodeMessage(frame);
    if (!decoded.ok) return this.reportError(decoded.error);
    const message = decoded.message;
    if (message.crdt === CrdtType.LoroEphemeralStore) {
      this.presences.get(message.roomId)?.handle(message);
      return;
    }
    if (message.crdt !== CrdtType.Loro) return;
    const room = this.rooms.get(message.roomId);
    if (!room) return;
    if (message.type === MessageType.DocUpdateFragmentHeader) {
      const result = this.assembler.header(message);
      if (result.kind === 'rejected') this.reportError(new Error(result.reason));
      return;
    }
    if (message.type === MessageType.DocUpdateFragment) {
      const result = this.assembler.fragment(message);
      if (result.kind === 'complete') room.importRemote([result.update]);
      else if (result.kind === 'rejected') this.reportError(new Error(result.reason));
      return;
    }
    room.handle(message);
  }

  /** @internal */
  sendMessage(message: ProtocolMessage): void {
    if (this.ws?.readyState === OPEN) this.ws.send(encodeMessage(message));
  }

  /** @internal */
  sendFrame(frame: Uint8Array): void {
    if (this.ws?.readyState === OPEN) this.ws.send(frame);
  }

  /** @internal A join the server could not serve right now: try again after a backoff. */
  retryJoinLater(room: ClientRoom): void {
    setTimeout(() => {
      if (this.rooms.get(room.docId) === room && this.isOpen) this.sendMessage(room.joinRequest());
    }, 1_000);
  }

  /** @internal */
  retryPresenceJoinLater(channel: PresenceChannel): void {
    setTimeout(() => {
      if (this.presences.get(channel.docId) === channel && this.isOpen) this.sendMessage(channel.joinRequest());
    }, 1_000);
  }

  /** @internal */
  retryPumpLater(room: ClientRoom): void {
    setTimeout(() => room.pump(), 500);
  }

  /** @internal */
  reportError(error: unknown): void {
    this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
  }
}

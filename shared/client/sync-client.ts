/**
 * Tandem's sync client: one WebSocket to one server, any number of documents over it.
 *
 * Guarantees: every local update stays in the room's outbox until the server acknowledges it
 * as stored, and is sent again after every reconnect (the server's import is idempotent, so a
 * resend is harmless); remote updates are imported as they arrive; the socket reconnects with
 * exponential backoff and jitter unless the server closed it for a reason retrying cannot fix.
 *
 * It runs wherever a standard `WebSocket` does (extension background, pages, Node with `ws`):
 * the socket constructor and the outbox storage are injected, and it imports no Node or DOM
 * module. Timers are the only ambient API it uses.
 */
import { LoroDoc, VersionVector } from 'loro-crdt';
import {
  AppErrorCode,
  CrdtType,
  FRAGMENT_TIMEOUT_MS,
  FragmentAssembler,
  JoinErrorCode,
  MessageType,
  PING,
  PONG,
  RoomErrorCode,
  UpdateStatus,
  assertNever,
  batchKey,
  decodeMessage,
  BATCH_PAYLOAD_BYTES,
  encodeBatch,
  encodeMessage,
  isRetryableClose,
  packedSize,
  newBatchId,
  type BatchId,
  type Permission,
  type ProtocolMessage,
} from '../protocol/index';
import { PresenceChannel, type PresenceHost, type PresenceOptions } from './presence-channel';

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

export type RoomStatus =
  /** Waiting for the socket or the join answer. */
  | 'joining'
  /** Joined; edits flow both ways. */
  | 'live'
  /** Stopped for good: see `RoomState.error`. */
  | 'failed';

/** Why a room stopped; the codes come from the protocol (JoinError app codes, RoomError). */
export class RoomFailure extends Error {
  override readonly name = 'RoomFailure';
  constructor(
    readonly reason: 'auth_failed' | 'not_found' | 'evicted' | 'closed_by_server' | 'join_failed' | 'update_refused',
    message: string,
  ) {
    super(message);
  }
}

/** Keeps a room's unacknowledged updates; implement it over durable storage to survive restarts. */
export interface OutboxStore {
  load(docId: string): Promise<Uint8Array[]>;
  save(docId: string, updates: readonly Uint8Array[]): Promise<void>;
}

export interface SyncClientOptions {
  /** WebSocket URL of the server's `/sync`, or a function giving a fresh one per attempt (tickets). */
  url: string | (() => string | Promise<string>);
  /** The WebSocket constructor (the global one in browsers; `ws` in Node). */
  WebSocket: new (url: string) => WebSocketLike;
  /** Reconnect backoff: first delay, cap, and random spread (0–1). Defaults 250 ms, 10 s, 0.5. */
  backoff?: { initialMs?: number; maxMs?: number; jitter?: number };
  /** Keep-alive ping interval. 20 s: Chrome keeps an MV3 worker alive while traffic flows at least every 30 s. */
  pingIntervalMs?: number;
  /** Most update batches in flight per room before waiting for Acks. Default 64. */
  maxInFlightBatches?: number;
  /** Called with every protocol-level error the client sees (for logs and UI). */
  onError?: (error: Error) => void;
}


/** Ops of one peer: counters from `start` up to (not including) `end`. */
interface OpSpan {
  peer: `${number}`;
  start: number;
  end: number;
}

const memoryOutbox: OutboxStore = {
  load: async () => [],
  save: async () => {},
};

/** One document synced through the client. */
export class ClientRoom {
  status: RoomStatus = 'joining';
  permission: Permission | null = null;
  error: RoomFailure | null = null;
  /** Local updates not yet acknowledged, by local sequence number (insertion order = oldest first). */
  private readonly outbox = new Map<number, Uint8Array>();
  /**
   * The ops of outbox entries made by local commits in this session: one peer's counters
   * [start, end). Consecutive ones are merged into one update when sent (see `mergeRuns`).
   */
  private readonly spans = new Map<number, OpSpan>();
  /** This session's peer and the end of its ops captured so far. */
  private localPeer: `${number}` | null = null;
  private localEnd = 0;
  private nextLocalSeq = 0;
  /** Outbox entries not yet sent on the current socket: `unsent[unsentHead…]`. */
  private unsent: number[] = [];
  private unsentHead = 0;
  /** Batches sent on the current socket and not yet acknowledged: their outbox entries. */
  private readonly inFlight = new Map<BatchId, number[]>();
  private persistScheduled = false;
  private saving: Promise<void> = Promise.resolve();
  /** The outbox entry holding what the server lacked at the last join (see `sendMissing`). */
  private missingSeq: number | null = null;
  private serverVersion: VersionVector | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<(updates: readonly Uint8Array[]) => void>();
  private unsubscribe: (() => void) | null = null;
  private rejoinedAfterError = false;

  constructor(
    private readonly client: SyncClient,
    readonly docId: string,
    readonly doc: LoroDoc,
    private readonly store: OutboxStore,
    /** Join payload (a share token, see `encodeJoinAuth`); empty when the connection's session decides. */
    readonly auth: Uint8Array,
  ) {}

  /** @internal Loads the persisted outbox and starts capturing local edits. */
  async start(): Promise<void> {
    const saved = await this.store.load(this.docId);
    if (saved.length > 0) this.doc.importBatch(saved);
    for (const update of saved) this.addToOutbox(update);
    this.localPeer = this.doc.peerIdStr;
    this.localEnd = this.ownOpsEnd();
    this.unsubscribe = this.doc.subscribeLocalUpdates((update) => {
      const seq = this.addToOutbox(update);
      // Called synchronously by each commit: its ops are this peer's since the last one.
      const peer = this.doc.peerIdStr;
      const end = this.ownOpsEnd();
      if (peer === this.localPeer && end > this.localEnd) this.spans.set(seq, { peer, start: this.localEnd, end });
      this.localPeer = peer;
      this.localEnd = end;
      this.persist();
      this.pump();
    });
  }

  private ownOpsEnd(): number {
    const version = this.doc.oplogVersion();
    const end = version.get(this.doc.peerIdStr) ?? 0;
    version.free();
    return end;
  }

  private addToOutbox(update: Uint8Array): number {
    const seq = this.nextLocalSeq++;
    this.outbox.set(seq, update);
    this.unsent.push(seq);
    return seq;
  }

  /**
   * Imports an update made elsewhere (another replica of this user's, an offline copy) and
   * sends it like a local edit: it stays in the outbox until the server stores it.
   */
  importLocal(update: Uint8Array): void {
    this.doc.import(update);
    this.addToOutbox(update);
    this.persist();
    this.pump();
  }

  /** Number of local updates the server has not acknowledged yet. */
  get unacknowledged(): number {
    return this.outbox.size;
  }

  /** Calls `listener` whenever status, outbox or document changes from the network. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with the local updates each time the server acknowledges some as stored. */
  onAcknowledged(listener: (updates: readonly Uint8Array[]) => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /**
   * Saves the outbox once per task, however many edits the task made. Saves run one after
   * another, so an older outbox can never overwrite a newer one.
   */
  private persist(): void {
    if (this.persistScheduled) return;
    this.persistScheduled = true;
    this.saving = this.saving.then(async () => {
      this.persistScheduled = false;
      await this.store.save(this.docId, [...this.outbox.values()]).catch((error: unknown) => this.client.reportError(error));
    });
  }

  /** Resolves when `predicate` holds, re-checking after every change. */
  private until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const off = this.onChange(() => {
        if (this.status === 'failed') {
          off();
          reject(this.error);
        } else if (predicate()) {
          off();
          resolve();
        }
      });
    });
  }

  /** Resolves once every local update so far is stored on the server. */
  whenAcknowledged(): Promise<void> {
    return this.until(() => this.outbox.size === 0);
  }

  /** Resolves once joined and caught up with what the server had at join time. */
  whenSynced(): Promise<void> {
    return this.until(() => this.status === 'live' && this.caughtUp());
  }

  private caughtUp(): boolean {
    if (!this.serverVersion) return false;
    const cmp = this.doc.oplogVersion().compare(this.serverVersion);
    return cmp !== undefined && cmp >= 0;
  }

  /** @internal `fromScratch` asks for everything (after the server could not read our version). */
  joinRequest(fromScratch = false): ProtocolMessage {
    this.status = 'joining';
    return {
      type: MessageType.JoinRequest,
      crdt: CrdtType.Loro,
      roomId: this.docId,
      auth: this.auth,
      version: fromScratch ? new Uint8Array(0) : this.doc.oplogVersion().encode(),
    };
  }

  /** @internal The socket dropped: whatever was in flight is void and will be resent. */
  socketLost(): void {
    this.inFlight.clear();
    this.unsent = [...this.outbox.keys()];
    this.unsentHead = 0;
    if (this.status === 'live') this.status = 'joining';
    this.changed();
  }

  /** @internal */
  handle(message: ProtocolMessage): void {
    switch (message.type) {
      case MessageType.JoinResponseOk: {
        this.status = 'live';
        this.permission = message.permission;
        this.rejoinedAfterError = false;
        this.serverVersion?.free();
        try {
          this.serverVersion = VersionVector.decode(message.version);
        } catch {
          this.serverVersion = null;
        }
        this.sendMissing();
        this.pump();
        this.changed();
        return;
      }
      case MessageType.JoinError: {
        if (message.code === JoinErrorCode.VersionUnknown) {
          // The server cannot read our version: join from scratch (it sends everything).
          this.client.sendMessage(this.joinRequest(true));
          return;
        }
        if (message.code === JoinErrorCode.AppError && (message.appCode === AppErrorCode.Unavailable || message.appCode === AppErrorCode.RateLimited)) {
          this.client.retryJoinLater(this);
          return;
        }
        const reason =
          message.code === JoinErrorCode.AuthFailed
            ? 'auth_failed'
            : message.appCode === AppErrorCode.RoomNotFound
              ? 'not_found'
              : 'join_failed';
        return this.fail(new RoomFailure(reason, message.message));
      }
      case MessageType.DocUpdate:
        this.importRemote(message.updates);
        return;
      case MessageType.Ack:
        this.acknowledge(message.refId, message.status);
        return;
      case MessageType.RoomError:
        if (message.code === RoomErrorCode.RejoinSuggested) {
          // Always honoured (a draining node, a storage failure, a changed role); a second one
          // before the rejoin succeeded waits a moment, so a struggling server is not hammered.
          this.socketLost();
          if (this.rejoinedAfterError) this.client.retryJoinLater(this);
          else this.client.sendMessage(this.joinRequest());
          this.rejoinedAfterError = true;
          return;
        }
        return this.fail(new RoomFailure(message.code === RoomErrorCode.Evicted ? 'evicted' : 'closed_by_server', message.message));
      case MessageType.JoinRequest:
      case MessageType.DocUpdateFragmentHeader:
      case MessageType.DocUpdateFragment:
      case MessageType.Leave:
        // Fragments are reassembled by the client; the rest are client-to-server messages.
        return;
      default:
        assertNever(message, 'message type');
    }
  }

  /** @internal */
  importRemote(updates: Uint8Array[]): void {
    try {
      this.doc.importBatch(updates);
    } catch (error) {
      this.client.reportError(error);
    }
    this.changed();
  }

  /**
   * At each join, queues what the server lacks that the outbox may not cover: edits made
   * before the room was opened, or lost by a server that crashed before storing them. It
   * replaces the previous such entry (this diff covers it), so reconnecting while the server
   * is down does not pile up copies.
   */
  private sendMissing(): void {
    if (!this.serverVersion || this.permission !== 'write') return;
    if (this.missingSeq !== null) this.outbox.delete(this.missingSeq);
    this.missingSeq = null;
    const cmp = this.doc.oplogVersion().compare(this.serverVersion);
    if (cmp === 0 || cmp === -1) return;
    this.missingSeq = this.addToOutbox(this.doc.export({ mode: 'update', from: this.serverVersion }));
    this.persist();
  }

  /**
   * Sends unsent outbox entries while the in-flight window allows, packing as many into each
   * batch as fit one frame: under load (or after an outage) batches grow instead of queueing.
   */
  pump(): void {
    if (this.status !== 'live' || this.permission !== 'write' || !this.client.isOpen) return;
    while (this.inFlight.size < this.client.maxInFlight && this.unsentHead < this.unsent.length) {
      const seqs: number[] = [];
      let bytes = 0;
      while (this.unsentHead < this.unsent.length) {
        const seq = this.unsent[this.unsentHead]!;
        const update = this.outbox.get(seq);
        if (update === undefined) {
          this.unsentHead++; // acknowledged meanwhile
          continue;
        }
        if (seqs.length > 0 && bytes + packedSize(update) > BATCH_PAYLOAD_BYTES) break;
        seqs.push(seq);
        bytes += packedSize(update);
        this.unsentHead++;
      }
      if (seqs.length === 0) break;
      const sent = seqs.length > 1 ? this.mergeRuns(seqs) : seqs;
      const id = newBatchId();
      this.inFlight.set(id, sent);
      for (const frame of encodeBatch(CrdtType.Loro, this.docId, sent.map((seq) => this.outbox.get(seq)!), id)) this.client.sendFrame(frame);
    }
    if (this.unsentHead === this.unsent.length) {
      this.unsent = [];
      this.unsentHead = 0;
    }
  }

  /**
   * Replaces each run of consecutive local commits among `seqs` (outbox order) with one update
   * holding all their ops, in the outbox too, and returns the entries left. A backlog (typing
   * faster than Acks come back, edits made offline) then costs the server, the log and every
   * other client one import instead of one per commit: importing automerge-paper as batches
   * of 64 merged updates costs a subscribed Loro document ~3 µs per edit, against ~48 µs as
   * single-edit updates, and sends 0.6 MB instead of 24 MB.
   */
  private mergeRuns(seqs: readonly number[]): number[] {
    const kept: number[] = [];
    let run: number[] = [];
    const endRun = (): void => {
      const merged = run.length > 1 ? this.mergedRun(run) : null;
      if (merged) {
        this.outbox.set(run[0]!, merged.update); // keeps its place: the outbox is resent in order
        this.spans.set(run[0]!, merged.span);
        for (const seq of run.slice(1)) {
          this.outbox.delete(seq);
          this.spans.delete(seq);
        }
        this.persist();
        kept.push(run[0]!);
      } else kept.push(...run);
      run = [];
    };
    for (const seq of seqs) {
      const span = this.spans.get(seq);
      const previous = run.length > 0 ? this.spans.get(run.at(-1)!) : undefined;
      if (span && previous && span.peer === previous.peer && span.start === previous.end) {
        run.push(seq);
        continue;
      }
      endRun();
      if (span) run.push(seq);
      else kept.push(seq);
    }
    endRun();
    return kept;
  }

  /** One update with the ops of a run of entries, and their span; null (reported) if Loro cannot export it: they go as they are. */
  private mergedRun(run: readonly number[]): { update: Uint8Array; span: OpSpan } | null {
    const { peer, start } = this.spans.get(run[0]!)!;
    const span = { peer, start, end: this.spans.get(run.at(-1)!)!.end };
    try {
      return { update: this.doc.export({ mode: 'updates-in-range', spans: [{ id: { peer, counter: start }, len: span.end - start }] }), span };
    } catch (error) {
      this.client.reportError(error);
      return null;
    }
  }

  private acknowledge(refId: BatchId, status: UpdateStatus): void {
    const seqs = this.inFlight.get(refId);
    if (!seqs) return;
    this.inFlight.delete(refId);
    const drop = (): Uint8Array[] => {
      const dropped: Uint8Array[] = [];
      for (const seq of seqs) {
        const update = this.outbox.get(seq);
        if (update !== undefined) dropped.push(update);
        this.outbox.delete(seq);
        this.spans.delete(seq);
      }
      this.persist();
      return dropped;
    };
    switch (status) {
      case UpdateStatus.Ok: {
        const stored = drop();
        for (const l of this.ackListeners) l(stored);
        break;
      }
      case UpdateStatus.PermissionDenied:
        // Read-only now: stop sending, keep the edits (a later rejoin with write access sends them).
        for (const seq of seqs) this.unsent.push(seq);
        this.permission = 'read';
        this.client.reportError(new Error(`the server refused batch ${refId}: no write permission`));
        break;
      case UpdateStatus.InvalidUpdate:
      case UpdateStatus.PayloadTooLarge:
      case UpdateStatus.AppError:
        // Never dropped: later edits build on these, and would be stranded on the server. The
        // room stops; the outbox keeps everything for whoever can fix it.
        for (const seq of seqs) this.unsent.push(seq);
        this.fail(new RoomFailure('update_refused', `the server refused batch ${refId} (status ${status})`));
        break;
      case UpdateStatus.RateLimited:
      case UpdateStatus.FragmentTimeout:
      case UpdateStatus.Unknown:
        // Send again: after a pause when the server is busy; an Unknown (storage failure) is
        // followed by a RoomError asking us to rejoin, which resends the whole outbox anyway.
        this.unsent.push(...seqs);
        if (status !== UpdateStatus.Unknown) {
          this.client.retryPumpLater(this);
          this.changed();
          return;
        }
        break;
      default:
        assertNever(status, 'ack status');
    }
    this.pump();
    this.changed();
  }

  private fail(error: RoomFailure): void {
    this.status = 'failed';
    this.error = error;
    this.client.reportError(error);
    this.changed();
  }

  /** @internal */
  dispose(): void {
    this.unsubscribe?.();
    this.serverVersion?.free();
    this.listeners.clear();
    this.ackListeners.clear();
  }
}

export class SyncClient implements PresenceHost {
  private ws: WebSocketLike | null = null;
  private readonly rooms = new Map<string, ClientRoom>();
  private readonly presences = new Map<string, PresenceChannel>();
  private readonly assembler = new FragmentAssembler({ maxUpdateBytes: 256 * 1024 * 1024, maxConcurrentBatches: 64 });
  private readonly fragmentTimers = new Map<string, ReturnType<typeof setTimeout>>();
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
    for (const t of this.fragmentTimers.values()) clearTimeout(t);
    this.fragmentTimers.clear();
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
      for (const t of this.fragmentTimers.values()) clearTimeout(t);
      this.fragmentTimers.clear();
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
      if (result.kind === 'rejected') return this.reportError(new Error(result.reason));
      this.armFragmentTimer(message.crdt, message.roomId, message.batchId);
      return;
    }
    if (message.type === MessageType.DocUpdateFragment) {
      const result = this.assembler.fragment(message);
      const key = batchKey(message.crdt, message.roomId, message.batchId);
      if (result.kind === 'incomplete') this.armFragmentTimer(message.crdt, message.roomId, message.batchId);
      else {
        clearTimeout(this.fragmentTimers.get(key));
        this.fragmentTimers.delete(key);
      }
      if (result.kind === 'complete') room.importRemote([result.update]);
      else if (result.kind === 'rejected') this.reportError(new Error(result.reason));
      return;
    }
    room.handle(message);
  }

  /** (Re)starts a fragmented batch's timeout, counted from its last fragment. */
  private armFragmentTimer(crdt: CrdtType, roomId: string, batchId: BatchId): void {
    const key = batchKey(crdt, roomId, batchId);
    clearTimeout(this.fragmentTimers.get(key));
    this.fragmentTimers.set(
      key,
      setTimeout(() => {
        this.fragmentTimers.delete(key);
        if (this.assembler.drop(crdt, roomId, batchId)) {
          this.sendMessage({ type: MessageType.Ack, crdt, roomId, refId: batchId, status: UpdateStatus.FragmentTimeout });
        }
      }, FRAGMENT_TIMEOUT_MS),
    );
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

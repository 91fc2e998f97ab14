/**
 * The presence (%EPH) room of one document, as a SyncClient speaks it: this client's entries
 * (one per key it sets, e.g. one per bound field) go out throttled, everyone else's come in and
 * expire when their owner stops refreshing them. The server deletes a socket's entries when it
 * leaves or closes, so a departure is seen at once; expiry covers what the server cannot see
 * (a half-open connection, a node that died).
 *
 * The server namespaces each socket's keys (others' keys arrive as `<their socket's tag>/<key>`)
 * and stamps who wrote each entry (`user`, `name`) over whatever the entry said; over its entry
 * size, count or rate it refuses a batch (`PresenceRefusal`), and one refused as over the rate
 * is sent again, as it is by then, a second later.
 *
 * Two EphemeralStores: `local` holds what this client says (and encodes it), `remote` what it
 * heard. Keeping them apart means a rejoin can start `remote` afresh (the server sends its
 * current state) without touching ours, and our own entries never come back to us as others'.
 */
import { EphemeralStore, type Value } from 'loro-crdt';
import { CrdtType, JoinErrorCode, AppErrorCode, MessageType, RoomErrorCode, UpdateStatus, assertNever, encodeBatch, newBatchId, type BatchId, type ProtocolMessage } from '../protocol/index';

/** The state one entry carries: any Loro value (objects of strings, numbers, bytes…). */
export type PresenceState = Record<string, Value>;

export interface PresenceOptions {
  /** An entry not refreshed for this long is dropped. Default 60 s, as on the server. */
  timeoutMs?: number;
  /** At most one send per this interval (trailing edge, so the latest state always goes out). Default 50 ms: 20 a second. */
  minIntervalMs?: number;
}

/** What a PresenceChannel needs from its SyncClient. */
export interface PresenceHost {
  readonly isOpen: boolean;
  sendMessage(message: ProtocolMessage): void;
  sendFrame(frame: Uint8Array): void;
  reportError(error: unknown): void;
  retryPresenceJoinLater(channel: PresenceChannel): void;
}

export type PresenceStatus = 'joining' | 'live' | 'failed';

/** After the server refused a batch as over its rate, wait this long before sending again. */
const RATE_LIMITED_RETRY_MS = 1_000;

export class PresenceChannel {
  status: PresenceStatus = 'joining';
  private local: EphemeralStore<PresenceState>;
  private remote: EphemeralStore<PresenceState>;
  private offRemote: () => void;
  private readonly listeners = new Set<() => void>();
  private readonly dirty = new Set<string>();
  private lastSent = -Infinity;
  private sendTimer: ReturnType<typeof setTimeout> | null = null;
  /** The keys of each batch not yet acknowledged, to send again if the server asks us to slow down. */
  private readonly inFlight = new Map<BatchId, string[]>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly refreshTimer: ReturnType<typeof setInterval>;
  readonly timeoutMs: number;
  private readonly minIntervalMs: number;
  /** Updates sent, for tests of the throttle. */
  sentBatches = 0;

  constructor(
    private readonly host: PresenceHost,
    readonly docId: string,
    private readonly auth: Uint8Array,
    options: PresenceOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.minIntervalMs = options.minIntervalMs ?? 50;
    this.local = new EphemeralStore(this.timeoutMs);
    this.remote = new EphemeralStore(this.timeoutMs);
    this.offRemote = this.remote.subscribe(() => this.changed());
    // Refresh our entries well before they expire anywhere (the timeout counts from their timestamp).
    this.refreshTimer = setInterval(() => this.refresh(), Math.min(20_000, this.timeoutMs / 3));
  }

  /** Sets (or replaces) one of this client's entries. */
  set(key: string, state: PresenceState): void {
    this.local.set(key, state);
    this.dirty.add(key);
    this.flushSoon();
  }

  /** Deletes one of this client's entries (the others see it go). */
  delete(key: string): void {
    if (this.local.get(key) === undefined) return;
    this.local.delete(key);
    this.dirty.add(key);
    this.flushSoon();
  }

  /** This client's entries. */
  mine(): Record<string, PresenceState> {
    return this.local.getAllStates() as Record<string, PresenceState>;
  }

  /** Everyone else's live entries, by key. */
  others(): Map<string, PresenceState> {
    const own = new Set(this.local.keys());
    const out = new Map<string, PresenceState>();
    for (const [key, state] of Object.entries(this.remote.getAllStates())) {
      if (!own.has(key) && state !== undefined) out.set(key, state as PresenceState);
    }
    return out;
  }

  /** Calls `listener` whenever others' entries change (arrive, change, leave, expire) or the status does. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** @internal */
  joinRequest(): ProtocolMessage {
    this.status = 'joining';
    return { type: MessageType.JoinRequest, crdt: CrdtType.LoroEphemeralStore, roomId: this.docId, auth: this.auth, version: new Uint8Array(0) };
  }

  /** @internal The socket dropped: what we heard is stale; it is replaced at the next join. */
  socketLost(): void {
    if (this.status === 'live') this.status = 'joining';
    this.inFlight.clear(); // everything is said again after the next join
  }

  /** @internal */
  handle(message: ProtocolMessage): void {
    switch (message.type) {
      case MessageType.JoinResponseOk: {
        this.status = 'live';
        // Start afresh: entries that left while we were away would otherwise linger until expiry.
        this.offRemote();
        this.remote.destroy();
        this.remote = new EphemeralStore(this.timeoutMs);
        this.offRemote = this.remote.subscribe(() => this.changed());
        // Everything we say, again (the server deleted our entries when the old socket went).
        for (const key of this.local.keys()) this.dirty.add(key);
        this.refresh();
        this.changed();
        return;
      }
      case MessageType.JoinError:
        if (message.code === JoinErrorCode.AppError && (message.appCode === AppErrorCode.Unavailable || message.appCode === AppErrorCode.RateLimited)) {
          this.host.retryPresenceJoinLater(this);
          return;
        }
        this.status = 'failed';
        this.host.reportError(new Error(`presence of ${this.docId}: join refused (${message.message})`));
        this.changed();
        return;
      case MessageType.DocUpdate:
        this.apply(message.updates);
        return;
      case MessageType.Ack: {
        const keys = this.inFlight.get(message.refId);
        this.inFlight.delete(message.refId);
        if (message.status === UpdateStatus.Ok) return;
        if (message.status === UpdateStatus.RateLimited && keys) {
          // Over the server's rate (presence_rate_limited): the latest state of those keys, a little later.
          for (const key of keys) this.dirty.add(key);
          this.retrySoon();
          return;
        }
        this.host.reportError(new Error(`presence of ${this.docId}: update refused (status ${message.status})`));
        return;
      }
      case MessageType.RoomError:
        if (message.code === RoomErrorCode.RejoinSuggested) {
          this.socketLost();
          this.host.sendMessage(this.joinRequest());
          return;
        }
        this.status = 'failed';
        this.offRemote();
        this.remote.destroy();
        this.remote = new EphemeralStore(this.timeoutMs);
        this.offRemote = this.remote.subscribe(() => this.changed());
        this.changed();
        return;
      case MessageType.JoinRequest:
      case MessageType.DocUpdateFragmentHeader:
      case MessageType.DocUpdateFragment:
      case MessageType.Leave:
        // Presence updates are small (never fragmented); the rest are client-to-server messages.
        return;
      default:
        assertNever(message, 'message type');
    }
  }

  private apply(updates: readonly Uint8Array[]): void {
    for (const update of updates) {
      try {
        this.remote.apply(update);
      } catch (error) {
        this.host.reportError(error);
      }
    }
  }

  /** Re-stamps our entries (so they do not expire) and sends them. */
  private refresh(): void {
    for (const [key, state] of Object.entries(this.local.getAllStates())) {
      if (state === undefined) continue;
      this.local.set(key, state);
      this.dirty.add(key);
    }
    this.flushSoon();
  }

  private flushSoon(): void {
    if (this.sendTimer) return;
    const wait = this.lastSent + this.minIntervalMs - performance.now();
    if (wait <= 0) return this.flush();
    this.sendTimer = setTimeout(() => {
      this.sendTimer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.dirty.size === 0) return;
    if (this.status !== 'live' || !this.host.isOpen) return; // sent again after the next join
    if (this.retryTimer) return; // the server asked us to wait
    const keys = [...this.dirty];
    const updates = keys.map((key) => this.local.encode(key)).filter((u) => u.length > 0);
    this.dirty.clear();
    if (updates.length === 0) return;
    this.lastSent = performance.now();
    this.sentBatches++;
    const batchId = newBatchId();
    this.inFlight.set(batchId, keys);
    // A server that never acknowledges must not make us remember every batch.
    if (this.inFlight.size > 64) this.inFlight.delete(this.inFlight.keys().next().value!);
    for (const frame of encodeBatch(CrdtType.LoroEphemeralStore, this.docId, updates, batchId)) this.host.sendFrame(frame);
  }

  private retrySoon(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flushSoon();
    }, RATE_LIMITED_RETRY_MS);
  }

  /** @internal Stops timers and frees the stores. */
  dispose(): void {
    clearInterval(this.refreshTimer);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.inFlight.clear();
    this.offRemote();
    this.local.destroy();
    this.remote.destroy();
    this.listeners.clear();
  }
}

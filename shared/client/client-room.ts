/**
 * One document synced through a SyncClient: the room handshake (join, rejoin, join from
 * scratch), local edits into the outbox and out in batches, Acks, and remote updates in.
 *
 * Guarantees: every local update stays in the outbox (`outbox.ts`) until the server
 * acknowledges it as stored, and is sent again after every reconnect (the server's import is
 * idempotent, so a resend is harmless); at each join, what the server lacks that the outbox may
 * not cover is added to it; remote updates are imported as they arrive.
 */
import { type LoroDoc, VersionVector } from 'loro-crdt';
import { AppErrorCode, CrdtType, JoinErrorCode, MessageType, RoomErrorCode, UpdateStatus, assertNever, encodeBatch, type BatchId, type Permission, type ProtocolMessage } from '../protocol/index';
import { importEach } from '../import-updates';
import { Outbox, type OutboxStore } from './outbox';
import { hop } from '../trace';

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
    /** The server's name for it, when it gave one (a JoinError's app code, e.g. `too_many_rooms`). */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** What a ClientRoom needs from its SyncClient. */
export interface RoomHost {
  readonly isOpen: boolean;
  /** Most update batches in flight per room before waiting for Acks. */
  readonly maxInFlight: number;
  sendMessage(message: ProtocolMessage): void;
  sendFrame(frame: Uint8Array): void;
  reportError(error: unknown): void;
  /** A join the server could not serve right now: try again after a backoff. */
  retryJoinLater(room: ClientRoom): void;
  /** The server was busy: send again after a pause. */
  retryPumpLater(room: ClientRoom): void;
}

/** One document synced through the client. */
export class ClientRoom {
  status: RoomStatus = 'joining';
  permission: Permission | null = null;
  error: RoomFailure | null = null;
  private readonly outbox: Outbox;
  private serverVersion: VersionVector | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly ackListeners = new Set<(updates: readonly Uint8Array[]) => void>();
  private unsubscribe: (() => void) | null = null;
  private rejoinedAfterError = false;

  constructor(
    private readonly client: RoomHost,
    readonly docId: string,
    readonly doc: LoroDoc,
    store: OutboxStore,
    /** Join payload (a share token, see `encodeJoinAuth`); empty when the connection's session decides. */
    readonly auth: Uint8Array,
  ) {
    this.outbox = new Outbox({ docId, doc, store, onError: (error) => client.reportError(error) });
  }

  /** @internal Loads the persisted outbox and starts capturing local edits. */
  async start(): Promise<void> {
    await this.outbox.restore();
    this.unsubscribe = this.doc.subscribeLocalUpdates((update) => {
      this.outbox.addLocalCommit(update);
      this.pump();
    });
  }

  /**
   * Imports an update made elsewhere (another replica of this user's, an offline copy) and
   * sends it like a local edit: it stays in the outbox until the server stores it.
   */
  importLocal(update: Uint8Array): void {
    this.doc.import(update);
    this.outbox.addUpdate(update);
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
    this.outbox.socketLost();
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
        const reason = message.code === JoinErrorCode.AuthFailed ? 'auth_failed' : message.appCode === AppErrorCode.RoomNotFound ? 'not_found' : 'join_failed';
        return this.fail(new RoomFailure(reason, message.message, message.appCode ?? null));
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
      importEach(this.doc, updates);
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
    const cmp = this.doc.oplogVersion().compare(this.serverVersion);
    this.outbox.replaceMissing(cmp === 0 || cmp === -1 ? null : this.doc.export({ mode: 'update', from: this.serverVersion }));
  }

  /**
   * Sends unsent outbox entries while the in-flight window allows, as many in each batch as
   * fit one frame (see `Outbox.takeBatch`).
   */
  pump(): void {
    if (this.status !== 'live' || this.permission !== 'write' || !this.client.isOpen) return;
    while (this.outbox.inFlightCount < this.client.maxInFlight) {
      const batch = this.outbox.takeBatch();
      if (!batch) break;
      for (const frame of encodeBatch(CrdtType.Loro, this.docId, batch.updates, batch.id)) this.client.sendFrame(frame);
      hop('socket-send');
    }
  }

  private acknowledge(refId: BatchId, status: UpdateStatus): void {
    // A batch the server did not store goes again (when, depends on the status).
    if (status !== UpdateStatus.Ok && !this.outbox.sendAgain(refId)) return;
    switch (status) {
      case UpdateStatus.Ok: {
        const stored = this.outbox.acknowledge(refId);
        if (!stored) return;
        for (const l of this.ackListeners) l(stored);
        break;
      }
      case UpdateStatus.PermissionDenied:
        // Read-only now: stop sending, keep the edits (a later rejoin with write access sends them).
        this.permission = 'read';
        this.client.reportError(new Error(`the server refused batch ${refId}: no write permission`));
        break;
      case UpdateStatus.InvalidUpdate:
      case UpdateStatus.PayloadTooLarge:
      case UpdateStatus.AppError:
        // Never dropped: later edits build on these, and would be stranded on the server. The
        // room stops; the outbox keeps everything for whoever can fix it.
        this.fail(new RoomFailure('update_refused', `the server refused batch ${refId} (status ${status})`));
        break;
      case UpdateStatus.RateLimited:
      case UpdateStatus.FragmentTimeout:
      case UpdateStatus.Unknown:
        // Send again: after a pause when the server is busy; an Unknown (storage failure) is
        // followed by a RoomError asking us to rejoin, which resends the whole outbox anyway.
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

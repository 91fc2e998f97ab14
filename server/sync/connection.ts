/**
 * One client socket speaking loro-protocol: decodes its frames, keeps its room memberships,
 * reassembles its fragments, applies its limits, and turns every outcome into the protocol's
 * answer (JoinError, Ack status, RoomError or a typed close). Messages for one room are
 * handled in arrival order; different rooms proceed independently.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDocumentId } from '../../shared/ids';
import { anonymousName } from '../../shared/presence';
import {
  AppErrorCode,
  CloseCode,
  CloseReason,
  CrdtType,
  JoinErrorCode,
  MessageType,
  PING,
  PONG,
  PRESENCE_REFUSAL_STATUS,
  PresenceRefusal,
  RoomErrorCode,
  UpdateStatus,
  assertNever,
  decodeMessage,
  encodeMessage,
  type BatchId,
  type JoinRequest,
  type Permission,
  type ProtocolMessage,
} from '../../shared/protocol/index';
import type { SyncOptions } from '../config';
import type { Logger } from '../logger';
import type { JoinAuthorizer, Principal } from './authorizer';
import { CommitError, type DocRoom, type UpdateAuthor } from './doc-room';
import { DocumentGoneError, isTransientDatabaseError } from './doc-store';
import { Relay } from './relay';
import { FragmentIntake } from './fragment-intake';
import type { RoomMember } from './room-member';
import type { PeerSocket } from './peer-socket';
import type { PresenceAuthor, PresenceRoom } from './presence-room';
import type { RoomRegistry } from './room-registry';
import { TokenBucket } from './token-bucket';
import { hop } from '../../shared/trace';
import { admitUpdates, type UpdateGateDeps } from './update-gate';

/** A room this socket is in, with the permission it was given and the payload it joined with. */
type Membership = { kind: 'doc'; room: DocRoom; permission: Permission; auth: Uint8Array; author: UpdateAuthor } | { kind: 'presence'; room: PresenceRoom; permission: Permission; auth: Uint8Array };

export interface ConnectionDeps {
  rooms: RoomRegistry;
  authorizer: JoinAuthorizer;
  options: Readonly<SyncOptions>;
  log: Logger;
  /** Takes a join from this socket's address (shared by all its sockets); false: rate limited. */
  takeAddressJoin?: () => boolean;
  /** Checks a snapshot a client sent, off the event loop (see update-gate.ts). */
  checkSnapshot: UpdateGateDeps['checkSnapshot'];
  /** Counts refusals by name (metrics). */
  onRefused?: (reason: string) => void;
  /** Counts updates accepted from this socket (metrics). */
  onAccepted?: (updates: number) => void;
  /** Seconds from an update's turn in its room to its Ok Ack (metrics). */
  onAcked?: (seconds: number) => void;
  /** A join started (+1) or stopped (-1) waiting for storage that is away (metrics). */
  onJoinWaiting?: (change: 1 | -1) => void;
}

const NACK_REJOIN_INTERVAL_MS = 60_000;

/**
 * How long a join waits for storage that is away (a Postgres restart, a failover, a network
 * blip) before it is refused as `unavailable`. Tandem's client joins again after a refusal, but
 * other clients give up (the official loro-websocket client, rejoining after its node died):
 * they get their room as soon as storage is back within this time.
 */
const JOIN_STORAGE_WAIT_MS = 15_000;

let nextConnectionId = 1;

const roomKeyOf = (crdt: CrdtType, roomId: string): string => `${crdt}${roomId}`;

export class Connection implements RoomMember {
  readonly connectionId = nextConnectionId++;
  private readonly memberships = new Map<string, Membership>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly fragments: FragmentIntake;
  /** When a client's failure report last made it rejoin a room, by room key. */
  private readonly nackRejoins = new Map<string, number>();
  private readonly joins: TokenBucket;
  /** Presence entries this socket may publish (over all its presence rooms). */
  private readonly presenceBudget: TokenBucket;
  /** Who this socket is in presence; its tag namespaces the keys it publishes. */
  private readonly author: PresenceAuthor;
  private readonly log: Logger;
  /** Bytes accepted from this socket and not yet committed. */
  private pendingBytes = 0;
  /** Bytes of frames read and not yet handled (waiting behind their room's earlier messages). */
  private backlogBytes = 0;
  private reading: 'on' | 'backlog' | 'stopped' = 'on';
  private closed = false;
  /** Closes an anonymous socket that has not joined a room in its first seconds. */
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: PeerSocket,
    readonly principal: Principal,
    private readonly deps: ConnectionDeps,
  ) {
    this.log = deps.log.child({ conn: this.connectionId });
    this.fragments = new FragmentIntake({
      limits: { maxUpdateBytes: deps.options.maxUpdateBytes, maxConcurrentBatches: deps.options.maxFragmentBatches, timeoutMs: deps.options.fragmentTimeoutMs },
      log: this.log,
      ack: (crdt, roomId, batchId, status) => this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status }),
      admit: ({ crdt, roomId }, ack) => {
        const membership = this.memberships.get(roomKeyOf(crdt, roomId));
        if (!membership || (membership.kind === 'doc' && membership.permission !== 'write')) {
          ack(UpdateStatus.PermissionDenied);
          return false;
        }
        if (membership.kind === 'presence') {
          this.refusePresence(roomId, PresenceRefusal.TooLarge, 'a fragmented presence batch', ack);
          return false;
        }
        return true;
      },
      submit: (crdt, roomId, batchId, update) => this.submit(crdt, roomId, batchId, [update]),
    });
    this.joins = new TokenBucket(deps.options.joinBurst, deps.options.joinsPerSecond);
    this.presenceBudget = new TokenBucket(deps.options.presenceEntryBurst, deps.options.presenceEntriesPerSecond);
    const tag = randomBytes(9).toString('base64url');
    this.author = principal.kind === 'user' ? { tag, user: principal.user.id, name: principal.user.displayName } : { tag, user: `anon:${tag}`, name: anonymousName(tag) };
    // A stranger's socket costs memory and a slot of its address: it must be for something.
    if (principal.kind === 'anonymous') {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.memberships.size === 0) this.closeWith(CloseCode.Idle, `no room joined within ${deps.options.anonymousIdleMs} ms`);
      }, deps.options.anonymousIdleMs);
      this.idleTimer.unref();
    }
  }

  get roomCount(): number {
    return this.memberships.size;
  }

  /** A text frame: only the keep-alive words are allowed. */
  receiveText(text: string): void {
    if (this.closed) return;
    if (text === PING) this.socket.sendText(PONG);
    else if (text !== PONG) this.closeWith(CloseCode.UnsupportedFrame, 'text frame other than ping/pong');
  }

  /** A binary frame: one protocol message. */
  receiveBinary(frame: Uint8Array): void {
    if (this.closed) return;
    const decoded = decodeMessage(frame);
    if (!decoded.ok) {
      this.closeWith(CloseCode.MalformedFrame, `${decoded.error.reason}: ${decoded.error.message}`);
      return;
    }
    const message = decoded.message;
    if (message.type === MessageType.DocUpdate && message.crdt === CrdtType.Loro) hop('server-receive');
    if (message.type === MessageType.JoinRequest && !(this.joins.take() && (this.deps.takeAddressJoin?.() ?? true))) {
      // Refused, not disconnected: a client rejoining many rooms after a reconnect retries.
      this.send({
        type: MessageType.JoinError,
        crdt: message.crdt,
        roomId: message.roomId,
        code: JoinErrorCode.AppError,
        message: 'too many joins; retry in a second',
        appCode: AppErrorCode.RateLimited,
      });
      return;
    }
    this.holdBacklog(frame.length);
    this.inOrder(roomKeyOf(message.crdt, message.roomId), () => this.handle(message).finally(() => this.holdBacklog(-frame.length)));
  }

  /**
   * Counts the frames waiting behind their room's earlier messages (a join loading its
   * document, a snapshot being checked): past the socket's pending bytes, reading stops until
   * half of them are handled, so a peer streaming frames meanwhile is held by TCP, not in memory.
   */
  private holdBacklog(bytes: number): void {
    this.backlogBytes += bytes;
    const limit = this.deps.options.maxPendingBytesPerConnection;
    if (this.reading === 'on' && this.backlogBytes > limit) {
      this.reading = 'backlog';
      this.socket.pause();
      this.deps.onRefused?.('socket_backlog');
      this.log.info('sync.backlog_paused', { bytes: this.backlogBytes });
    } else if (this.reading === 'backlog' && this.backlogBytes <= limit / 2) {
      this.reading = 'on';
      this.socket.resume();
    }
  }

  /** Reads nothing more from this peer (the node is shutting down: what it sends stays in its outbox). */
  stopReading(): void {
    this.reading = 'stopped';
    this.socket.pause();
  }

  /** Runs `task` after every earlier task of the same room. */
  private inOrder(key: string, task: () => void | Promise<void>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => this.log.error('sync.handler_failed', { error }));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private async handle(message: ProtocolMessage): Promise<void> {
    if (this.closed) return;
    switch (message.type) {
      case MessageType.JoinRequest:
        return this.join(message);
      case MessageType.DocUpdate:
        return this.submit(message.crdt, message.roomId, message.batchId, message.updates);
      case MessageType.DocUpdateFragmentHeader:
        return this.fragments.header(message);
      case MessageType.DocUpdateFragment:
        return this.fragments.fragment(message);
      case MessageType.Leave:
        return this.leave(message.crdt, message.roomId);
      case MessageType.Ack:
        // Clients Ack server batches only to report failure. A client that could not
        // reassemble or import what we sent rejoins and gets a fresh catch-up.
        if (message.status !== UpdateStatus.Ok) {
          this.log.warn('sync.client_nack', { room: message.roomId, status: message.status });
          const key = roomKeyOf(message.crdt, message.roomId);
          // At most one rejoin per room a minute: a link too slow for a large catch-up must
          // not loop between timing out and rejoining.
          const last = this.nackRejoins.get(key) ?? -Infinity;
          if (this.memberships.has(key) && performance.now() - last > NACK_REJOIN_INTERVAL_MS) {
            this.nackRejoins.set(key, performance.now());
            this.evictFrom(message.crdt, message.roomId, RoomErrorCode.RejoinSuggested, 'resend failed; rejoin');
          }
        }
        return;
      case MessageType.JoinError:
        // The official client sends this when it cannot use a join it got; treat as leaving.
        this.log.warn('sync.client_join_error', { room: message.roomId, message: message.message });
        return this.leave(message.crdt, message.roomId);
      case MessageType.JoinResponseOk:
      case MessageType.RoomError:
        // Server-to-client messages; a client has no business sending them.
        this.log.warn('sync.unexpected_message', { type: message.type, room: message.roomId });
        return;
      default:
        assertNever(message, 'message type');
    }
  }

  /** Runs `work` again while it fails because storage is away, for up to JOIN_STORAGE_WAIT_MS and while the socket is open. */
  private async untilStorage<T>(work: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + JOIN_STORAGE_WAIT_MS;
    let waiting = false;
    try {
      for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
        try {
          return await work();
        } catch (error) {
          if (!isTransientDatabaseError(error) || this.closed || performance.now() + delay > deadline) throw error;
          if (!waiting) {
            waiting = true;
            this.deps.onJoinWaiting?.(1);
          }
          await sleep(delay);
        }
      }
    } finally {
      if (waiting) this.deps.onJoinWaiting?.(-1);
    }
  }

  private async join(request: JoinRequest): Promise<void> {
    const { crdt, roomId } = request;
    const key = roomKeyOf(crdt, roomId);
    const refuse = (code: JoinErrorCode, message: string, extra: { appCode?: string; receiverVersion?: Uint8Array } = {}): void =>
      this.send({ type: MessageType.JoinError, crdt, roomId, code, message, ...extra });

    if (crdt !== CrdtType.Loro && crdt !== CrdtType.LoroEphemeralStore) {
      return refuse(JoinErrorCode.AppError, `this server hosts ${CrdtType.Loro} and ${CrdtType.LoroEphemeralStore} rooms`, {
        appCode: AppErrorCode.UnsupportedCrdt,
      });
    }
    if (!isDocumentId(roomId)) {
      return refuse(JoinErrorCode.AppError, 'no such document', { appCode: AppErrorCode.RoomNotFound });
    }
    if (!this.memberships.has(key) && this.memberships.size >= this.deps.options.maxRoomsPerConnection) {
      return refuse(JoinErrorCode.AppError, `at most ${this.deps.options.maxRoomsPerConnection} rooms per connection`, {
        appCode: AppErrorCode.TooManyRooms,
      });
    }

    let permission: Permission;
    let linkId: string | null = null;
    try {
      const decision = await this.untilStorage(() => this.deps.authorizer.authorizeJoin({ principal: this.principal, docId: roomId, crdt, auth: request.auth }));
      if (!decision.ok) {
        return decision.reason === 'not_found' ? refuse(JoinErrorCode.AppError, decision.message, { appCode: AppErrorCode.RoomNotFound }) : refuse(JoinErrorCode.AuthFailed, decision.message);
      }
      permission = decision.permission;
      linkId = decision.linkId ?? null;
    } catch (error) {
      this.log.warn('sync.authorize_failed', { docId: roomId, error });
      return refuse(JoinErrorCode.AppError, 'storage unavailable; try again', { appCode: AppErrorCode.Unavailable });
    }
    if (this.closed) return;

    // A repeated join (e.g. after RoomError rejoin_suggested) replaces the old membership.
    this.dropMembership(key);

    if (crdt === CrdtType.LoroEphemeralStore) {
      const room = this.deps.rooms.presenceRoom(roomId);
      const state = room.join(this, this.author);
      this.memberships.set(key, { kind: 'presence', room, permission, auth: request.auth.slice() });
      this.clearIdleTimer();
      this.send({ type: MessageType.JoinResponseOk, crdt, roomId, permission, version: new Uint8Array(0), extra: new Uint8Array(0) });
      this.deliver(new Relay('presence', roomId, state));
      return;
    }

    let room: DocRoom;
    try {
      room = await this.untilStorage(() => this.deps.rooms.acquireDoc(roomId));
    } catch (error) {
      if (error instanceof DocumentGoneError) {
        return refuse(JoinErrorCode.AppError, 'no such document', { appCode: AppErrorCode.RoomNotFound });
      }
      if (isTransientDatabaseError(error)) {
        this.log.warn('sync.load_unavailable', { docId: roomId, error });
        return refuse(JoinErrorCode.AppError, 'storage unavailable; try again', { appCode: AppErrorCode.Unavailable });
      }
      this.log.error('sync.load_failed', { docId: roomId, error });
      return refuse(JoinErrorCode.Unknown, 'the document could not be loaded');
    }
    if (this.closed) {
      this.deps.rooms.releaseDoc(room);
      return;
    }
    const outcome = room.join(this, request.version);
    if (!outcome.ok) {
      this.deps.rooms.releaseDoc(room);
      return refuse(JoinErrorCode.VersionUnknown, 'cannot decode the version vector', { receiverVersion: outcome.version });
    }
    // What it writes is attributed to its account, or, for an anonymous socket, to the link.
    const author: UpdateAuthor = this.principal.kind === 'user' ? { userId: this.principal.user.id, linkId: null } : { userId: null, linkId };
    this.memberships.set(key, { kind: 'doc', room, permission, auth: request.auth.slice(), author });
    this.clearIdleTimer();
    this.send({ type: MessageType.JoinResponseOk, crdt, roomId, permission, version: outcome.version, extra: new Uint8Array(0) });
    this.deliver(outcome.shared ? Relay.catchUp(roomId, outcome.catchUp) : new Relay('doc', roomId, outcome.catchUp));
  }

  private async submit(crdt: CrdtType, roomId: string, batchId: BatchId, updates: readonly Uint8Array[]): Promise<void> {
    const started = performance.now();
    const ack = (status: UpdateStatus): void => this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status });
    const key = roomKeyOf(crdt, roomId);
    const membership = this.memberships.get(key);
    if (!membership) return ack(UpdateStatus.PermissionDenied);

    if (membership.kind === 'presence') {
      // Presence is relayed for viewers too: showing where a reader is does not edit anything.
      const result = membership.room.submit(this, updates, this.presenceBudget);
      if (result.kind === 'accepted') return ack(UpdateStatus.Ok);
      return this.refusePresence(roomId, result.reason, result.detail, ack);
    }
    if (membership.permission !== 'write') return ack(UpdateStatus.PermissionDenied);

    const bytes = updates.reduce((n, u) => n + u.length, 0);
    if (this.pendingBytes + bytes > this.deps.options.maxPendingBytesPerConnection) {
      return ack(UpdateStatus.RateLimited);
    }
    const admitted = await admitUpdates(updates, () => (this.memberships.get(key) === membership ? membership.room : null), this.deps);
    if (!admitted.ok) {
      this.log.info('sync.update_refused', { docId: roomId, reason: admitted.reason, detail: admitted.detail });
      this.deps.onRefused?.(`update_${admitted.reason}`);
      return ack(admitted.status);
    }
    // A snapshot's check awaited: the socket may have closed or left the room meanwhile.
    if (this.closed || this.memberships.get(key) !== membership) return ack(UpdateStatus.PermissionDenied);
    const outcome = membership.room.submit(this, updates, membership.author);
    // Counted until written, whatever the outcome: the valid part of an invalid batch is queued too.
    this.pendingBytes += bytes;
    if (outcome.kind === 'invalid') {
      void outcome.committed.finally(() => {
        this.pendingBytes -= bytes;
      });
      this.log.info('sync.invalid_update', { docId: roomId, reason: outcome.reason });
      return ack(UpdateStatus.InvalidUpdate);
    }
    this.deps.onAccepted?.(updates.length);
    outcome.committed
      .then(
        () => {
          ack(UpdateStatus.Ok);
          this.deps.onAcked?.((performance.now() - started) / 1000);
        },
        (error: unknown) => {
          // Never acknowledged as stored: the client keeps the update and sends it again.
          if (!(error instanceof CommitError)) this.log.error('sync.commit_failed', { docId: roomId, error });
          ack(error instanceof CommitError && error.reason === 'document_gone' ? UpdateStatus.AppError : UpdateStatus.Unknown);
        },
      )
      .finally(() => {
        this.pendingBytes -= bytes;
      });
  }

  private refusePresence(docId: string, reason: PresenceRefusal, detail: string, ack: (status: UpdateStatus) => void): void {
    // A flood is refused many times a second: its refusals are counted, not each logged.
    if (reason === PresenceRefusal.RateLimited) this.log.debug('sync.presence_refused', { docId, reason, detail });
    else this.log.info('sync.presence_refused', { docId, reason, detail });
    this.deps.onRefused?.(reason);
    ack(PRESENCE_REFUSAL_STATUS[reason]);
  }

  private leave(crdt: CrdtType, roomId: string): void {
    this.dropMembership(roomKeyOf(crdt, roomId));
    this.fragments.dropRoom(crdt, roomId);
  }

  private dropMembership(key: string): void {
    const membership = this.memberships.get(key);
    if (!membership) return;
    this.memberships.delete(key);
    if (membership.kind === 'doc') {
      membership.room.leave(this);
    } else {
      membership.room.leave(this);
      this.deps.rooms.releasePresence(membership.room);
    }
  }

  /**
   * Decides this socket's rooms of `docId` again (access changed): a socket that lost access is
   * evicted; one whose permission changed is asked to rejoin, and gets the new one.
   */
  reauthorize(docId: string): void {
    for (const crdt of [CrdtType.Loro, CrdtType.LoroEphemeralStore]) {
      const key = roomKeyOf(crdt, docId);
      if (!this.memberships.has(key)) continue;
      this.inOrder(key, async () => {
        const membership = this.memberships.get(key);
        if (!membership || this.closed) return;
        const decision = await this.deps.authorizer.authorizeJoin({ principal: this.principal, docId, crdt, auth: membership.auth });
        if (this.memberships.get(key) !== membership) return;
        if (!decision.ok) this.evictFrom(crdt, docId, RoomErrorCode.Evicted, 'access to this document was revoked');
        else if (decision.permission !== membership.permission) {
          this.evictFrom(crdt, docId, RoomErrorCode.RejoinSuggested, `your permission is now ${decision.permission}; rejoin`);
        }
      });
    }
  }

  /** True when this socket is in a room of `docId`. */
  isIn(docId: string): boolean {
    return this.memberships.has(roomKeyOf(CrdtType.Loro, docId)) || this.memberships.has(roomKeyOf(CrdtType.LoroEphemeralStore, docId));
  }

  // RoomMember

  deliver(relay: Relay): void {
    if (this.closed || relay.updates.length === 0) return;
    for (const frame of relay.frames) this.socket.sendBinary(frame);
    if (relay.roomKind === 'doc') hop('server-send');
    if (this.socket.bufferedAmount > this.deps.options.maxSocketBufferBytes) {
      this.closeWith(CloseCode.SlowConsumer, `more than ${this.deps.options.maxSocketBufferBytes} bytes unread`);
    }
  }

  evict(kind: 'doc' | 'presence', docId: string, code: RoomErrorCode, message: string): void {
    this.evictFrom(kind === 'doc' ? CrdtType.Loro : CrdtType.LoroEphemeralStore, docId, code, message);
  }

  private evictFrom(crdt: CrdtType, roomId: string, code: RoomErrorCode, message: string): void {
    this.leave(crdt, roomId);
    this.send({ type: MessageType.RoomError, crdt, roomId, code, message });
  }

  private send(message: ProtocolMessage): void {
    if (!this.closed) this.socket.sendBinary(encodeMessage(message));
  }

  private closeWith(code: CloseCode, detail: string): void {
    this.log.info('sync.close', { code, reason: CloseReason[code], detail });
    this.socket.close(code, CloseReason[code]);
    this.handleSocketClosed();
  }

  /** Closes the socket from the server side (shutdown). */
  close(code: CloseCode): void {
    if (this.closed) return;
    this.socket.close(code, CloseReason[code]);
    this.handleSocketClosed();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** The socket is gone: leave every room, drop partial fragments. Accepted writes still commit. */
  handleSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    for (const key of [...this.memberships.keys()]) this.dropMembership(key);
    this.fragments.clear();
  }
}

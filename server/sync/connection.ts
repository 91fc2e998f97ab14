/**
 * One client socket speaking loro-protocol: decodes its frames, keeps its room memberships,
 * reassembles its fragments, applies its limits, and turns every outcome into the protocol's
 * answer (JoinError, Ack status, RoomError or a typed close). Messages for one room are
 * handled in arrival order; different rooms proceed independently.
 */
import { isDocumentId } from '../../shared/ids';
import {
  AppErrorCode,
  CloseCode,
  CloseReason,
  CrdtType,
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
  encodeMessage,
  type BatchId,
  type DocUpdateFragment,
  type DocUpdateFragmentHeader,
  type JoinRequest,
  type Permission,
  type ProtocolMessage,
} from '../../shared/protocol/index';
import type { SyncOptions } from '../config';
import type { Logger } from '../logger';
import type { JoinAuthorizer, Principal } from './authorizer';
import { CommitError, type DocRoom } from './doc-room';
import { DocumentGoneError, isTransientDatabaseError } from './doc-store';
import { Relay, type RoomMember } from './member';
import type { PeerSocket } from './peer-socket';
import type { PresenceRoom } from './presence-room';
import type { RoomRegistry } from './room-registry';
import { TokenBucket } from './token-bucket';

/** A room this socket is in, with the permission it was given and the payload it joined with. */
type Membership =
  | { kind: 'doc'; room: DocRoom; permission: Permission; auth: Uint8Array }
  | { kind: 'presence'; room: PresenceRoom; permission: Permission; auth: Uint8Array };

export interface ConnectionDeps {
  rooms: RoomRegistry;
  authorizer: JoinAuthorizer;
  options: Readonly<SyncOptions>;
  log: Logger;
}

const NACK_REJOIN_INTERVAL_MS = 60_000;

/** Batch ids whose fragments we already refused; later fragments of them are dropped quietly. */
const REMEMBERED_DISCARDS = 64;

let nextConnectionId = 1;

const roomKeyOf = (crdt: CrdtType, roomId: string): string => `${crdt}${roomId}`;

export class Connection implements RoomMember {
  readonly connectionId = nextConnectionId++;
  private readonly memberships = new Map<string, Membership>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly assembler: FragmentAssembler;
  /** Reassembly deadlines, by batch key. */
  private readonly fragmentTimers = new Map<string, { timer: NodeJS.Timeout; roomKey: string }>();
  private readonly discarded = new Set<string>();
  /** When a client's failure report last made it rejoin a room, by room key. */
  private readonly nackRejoins = new Map<string, number>();
  private readonly joins: TokenBucket;
  private readonly log: Logger;
  /** Bytes accepted from this socket and not yet committed. */
  private pendingBytes = 0;
  private closed = false;

  constructor(
    private readonly socket: PeerSocket,
    readonly principal: Principal,
    private readonly deps: ConnectionDeps,
  ) {
    this.assembler = new FragmentAssembler({
      maxUpdateBytes: deps.options.maxUpdateBytes,
      maxConcurrentBatches: deps.options.maxFragmentBatches,
    });
    this.joins = new TokenBucket(deps.options.joinBurst, deps.options.joinsPerSecond);
    this.log = deps.log.child({ conn: this.connectionId });
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
    if (message.type === MessageType.JoinRequest && !this.joins.take()) {
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
    this.inOrder(roomKeyOf(message.crdt, message.roomId), () => this.handle(message));
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
        return this.fragmentHeader(message);
      case MessageType.DocUpdateFragment:
        return this.fragment(message);
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
    try {
      const decision = await this.deps.authorizer.authorizeJoin({ principal: this.principal, docId: roomId, crdt, auth: request.auth });
      if (!decision.ok) {
        return decision.reason === 'not_found'
          ? refuse(JoinErrorCode.AppError, decision.message, { appCode: AppErrorCode.RoomNotFound })
          : refuse(JoinErrorCode.AuthFailed, decision.message);
      }
      permission = decision.permission;
    } catch (error) {
      this.log.warn('sync.authorize_failed', { docId: roomId, error });
      return refuse(JoinErrorCode.AppError, 'storage unavailable; try again', { appCode: AppErrorCode.Unavailable });
    }
    if (this.closed) return;

    // A repeated join (e.g. after RoomError rejoin_suggested) replaces the old membership.
    this.dropMembership(key);

    if (crdt === CrdtType.LoroEphemeralStore) {
      const room = this.deps.rooms.presenceRoom(roomId);
      const state = room.join(this);
      this.memberships.set(key, { kind: 'presence', room, permission, auth: request.auth.slice() });
      this.send({ type: MessageType.JoinResponseOk, crdt, roomId, permission, version: new Uint8Array(0), extra: new Uint8Array(0) });
      this.deliver(new Relay('presence', roomId, state));
      return;
    }

    let room: DocRoom;
    try {
      room = await this.deps.rooms.acquireDoc(roomId);
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
    this.memberships.set(key, { kind: 'doc', room, permission, auth: request.auth.slice() });
    this.send({ type: MessageType.JoinResponseOk, crdt, roomId, permission, version: outcome.version, extra: new Uint8Array(0) });
    this.deliver(new Relay('doc', roomId, outcome.catchUp));
  }

  private submit(crdt: CrdtType, roomId: string, batchId: BatchId, updates: readonly Uint8Array[]): void {
    const ack = (status: UpdateStatus): void => this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status });
    const membership = this.memberships.get(roomKeyOf(crdt, roomId));
    if (!membership) return ack(UpdateStatus.PermissionDenied);

    if (membership.kind === 'presence') {
      // Presence is relayed for viewers too: showing where a reader is does not edit anything.
      const result = membership.room.submit(this, updates);
      return ack(result.kind === 'accepted' ? UpdateStatus.Ok : UpdateStatus.InvalidUpdate);
    }
    if (membership.permission !== 'write') return ack(UpdateStatus.PermissionDenied);

    const bytes = updates.reduce((n, u) => n + u.length, 0);
    if (this.pendingBytes + bytes > this.deps.options.maxPendingBytesPerConnection) {
      return ack(UpdateStatus.RateLimited);
    }
    const outcome = membership.room.submit(this, updates);
    if (outcome.kind === 'invalid') {
      this.log.info('sync.invalid_update', { docId: roomId, reason: outcome.reason });
      return ack(UpdateStatus.InvalidUpdate);
    }
    this.pendingBytes += bytes;
    outcome.committed.then(
      () => ack(UpdateStatus.Ok),
      (error: unknown) => {
        // Never acknowledged as stored: the client keeps the update and sends it again.
        if (!(error instanceof CommitError)) this.log.error('sync.commit_failed', { docId: roomId, error });
        ack(error instanceof CommitError && error.reason === 'document_gone' ? UpdateStatus.AppError : UpdateStatus.Unknown);
      },
    ).finally(() => {
      this.pendingBytes -= bytes;
    });
  }

  private fragmentHeader(header: DocUpdateFragmentHeader): void {
    const { crdt, roomId, batchId } = header;
    const key = batchKey(crdt, roomId, batchId);
    const ack = (status: UpdateStatus): void => this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status });
    const membership = this.memberships.get(roomKeyOf(crdt, roomId));
    // Refuse before buffering anything: a stranger must not make us hold its fragments.
    if (!membership || (membership.kind === 'doc' && membership.permission !== 'write')) {
      this.discard(key);
      return ack(UpdateStatus.PermissionDenied);
    }
    const result = this.assembler.header(header);
    if (result.kind === 'rejected') {
      this.discard(key);
      this.log.info('sync.fragment_refused', { docId: roomId, reason: result.reason });
      return ack(result.status);
    }
    this.discarded.delete(key);
    this.armFragmentTimer(crdt, roomId, batchId);
  }

  /**
   * (Re)starts a batch's reassembly timeout. It runs from the last fragment received, not
   * from the header, so a large update over a slow link finishes as long as it keeps coming.
   */
  private armFragmentTimer(crdt: CrdtType, roomId: string, batchId: BatchId): void {
    const key = batchKey(crdt, roomId, batchId);
    this.clearFragmentTimer(key);
    const timer = setTimeout(() => {
      this.fragmentTimers.delete(key);
      if (this.assembler.drop(crdt, roomId, batchId)) {
        this.discard(key);
        this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status: UpdateStatus.FragmentTimeout });
      }
    }, this.deps.options.fragmentTimeoutMs);
    this.fragmentTimers.set(key, { timer, roomKey: roomKeyOf(crdt, roomId) });
  }

  private fragment(fragment: DocUpdateFragment): void {
    const { crdt, roomId, batchId } = fragment;
    const key = batchKey(crdt, roomId, batchId);
    const ack = (status: UpdateStatus): void => this.send({ type: MessageType.Ack, crdt, roomId, refId: batchId, status });
    const result = this.assembler.fragment(fragment);
    switch (result.kind) {
      case 'incomplete':
        return this.armFragmentTimer(crdt, roomId, batchId);
      case 'complete':
        this.clearFragmentTimer(key);
        return this.submit(crdt, roomId, batchId, [result.update]);
      case 'unknown_batch':
        // Refused or timed out earlier (already answered), or never announced.
        if (!this.discarded.has(key)) {
          this.discard(key);
          ack(UpdateStatus.FragmentTimeout);
        }
        return;
      case 'rejected':
        this.clearFragmentTimer(key);
        this.discard(key);
        this.log.info('sync.fragment_refused', { docId: roomId, reason: result.reason });
        return ack(result.status);
      default:
        assertNever(result, 'fragment result');
    }
  }

  private discard(key: string): void {
    this.discarded.add(key);
    if (this.discarded.size > REMEMBERED_DISCARDS) {
      const oldest = this.discarded.values().next().value;
      if (oldest !== undefined) this.discarded.delete(oldest);
    }
  }

  private clearFragmentTimer(key: string): void {
    const entry = this.fragmentTimers.get(key);
    if (entry) {
      clearTimeout(entry.timer);
      this.fragmentTimers.delete(key);
    }
  }

  private leave(crdt: CrdtType, roomId: string): void {
    this.dropMembership(roomKeyOf(crdt, roomId));
    this.assembler.dropRoom(crdt, roomId);
    const roomKey = roomKeyOf(crdt, roomId);
    for (const [key, entry] of [...this.fragmentTimers]) if (entry.roomKey === roomKey) this.clearFragmentTimer(key);
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

  /** The socket is gone: leave every room, drop partial fragments. Accepted writes still commit. */
  handleSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const key of [...this.memberships.keys()]) this.dropMembership(key);
    for (const { timer } of this.fragmentTimers.values()) clearTimeout(timer);
    this.fragmentTimers.clear();
    this.assembler.clear();
  }
}

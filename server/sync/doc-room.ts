/**
 * One loaded document (%LOR room): the sockets in it, its Loro oplog in memory, and the write
 * path that makes every accepted update durable before it is acknowledged. This file composes
 * the parts, one per job and the state it owns, in `doc-room/`:
 *
 * - `members.ts`      the sockets in the room and the relay to them
 * - `oplog.ts`        the detached LoroDoc, and what each import means for later joiners
 * - `join-answer.ts`  what a joining member lacks
 * - `stored-log.ts`   the snapshot and log entries this node knows are stored; the applied seq
 * - `write-queue.ts`  group commit of accepted updates; retries while the database is down
 * - `other-nodes.ts`  other nodes' commits and early edits, applied in seq order
 * - `compaction.ts`   folding the log into a snapshot past a threshold
 *
 * Relay before COMMIT, Ack after: an Ack is the promise that the update survives anything; a
 * relayed update is only what the others see now. Waiting for the COMMIT before relaying put
 * a transaction on every keystroke's path to the other screens. When a write fails for good,
 * the room is dropped and every member asked to rejoin: the sender still holds the
 * unacknowledged update and sends it again, and SyncClient re-sends what the server lacks on
 * every join, so the update comes back from whoever saw it. Other nodes still learn of an
 * update only after its COMMIT.
 */
import { decodeImportBlobMeta, type ImportStatus } from 'loro-crdt';
import { RoomErrorCode } from '../../shared/protocol/index';
import { spansOfImport, type OpSpan } from '../../shared/op-spans';
import type { Logger } from '../logger';
import type { DocStore, PeerAttribution } from './doc-store';
import { RoomCompaction } from './doc-room/compaction';
import { answerJoin, type JoinOutcome } from './doc-room/join-answer';
import { RoomMembers } from './doc-room/members';
import { Relay } from './relay';
import { RoomOplog, hasPending } from './doc-room/oplog';
import { OtherNodeEdits } from './doc-room/other-nodes';
import { StoredLog } from './doc-room/stored-log';
import { WriteQueue, type CommitFailure } from './doc-room/write-queue';
import type { RoomMember } from './room-member';

export { CommitError, type CommitFailure } from './doc-room/write-queue';
export type { JoinOutcome } from './doc-room/join-answer';

/** Who sent an update: an account, or the share link an anonymous writer came through. */
export interface UpdateAuthor {
  userId: string | null;
  linkId: string | null;
}

export type SubmitOutcome =
  /** Every update imported; `committed` settles when they are durable (rejects with CommitError). */
  | { kind: 'accepted'; committed: Promise<void> }
  /** At least one update was rejected by Loro; the valid ones are stored anyway (`committed` settles when they are; it never rejects). */
  | { kind: 'invalid'; reason: string; committed: Promise<void> };

export interface DocRoomOptions {
  docId: string;
  store: DocStore;
  log: Logger;
  compactAfterUpdates: number;
  compactAfterBytes: number;
  /** Called when the room has no members and nothing left to write. */
  onIdle: (room: DocRoom) => void;
  /** Called when the room can no longer be trusted and must be dropped (see `fail`). */
  onBroken: (room: DocRoom) => void;
  /** Called after each commit with the number of updates it made durable. */
  onCommit: (updates: number) => void;
  /** Called after each commit with the seq it got and what it holds (the doorbell). */
  onCommitted: (docId: string, seq: number, updates: readonly Uint8Array[]) => void;
  /** Called with a member's accepted updates (their dependencies present) before they are stored: for other nodes. */
  onAccepted: (docId: string, updates: readonly Uint8Array[]) => void;
  /** Another node's commit reached this room: applied from its doorbell, or read from the log. */
  onOtherNodesEntry: (source: 'doorbell' | 'log read') => void;
  /** `updates` were relayed to `sockets` members (metrics). */
  onRelayed?: (updates: number, sockets: number) => void;
  /** A log entry was written in `seconds`, from the write to its COMMIT (metrics). */
  onCommitDuration?: (seconds: number) => void;
}

/** A log past this size is folded into a snapshot before a room loads it (see `DocRoom.load`). */
const COLD_LOAD_FOLD_BYTES = 1024 * 1024;

export class DocRoom {
  readonly docId: string;
  private readonly members: RoomMembers;
  private readonly writes: WriteQueue;
  private readonly otherNodes: OtherNodeEdits;
  private readonly compaction: RoomCompaction;
  /** Peer ids whose author this room has stored or queued (the database keeps the first one). */
  private readonly attributed = new Set<string>();
  private closed = false;

  private constructor(
    private readonly options: DocRoomOptions,
    private readonly oplog: RoomOplog,
    private readonly stored: StoredLog,
  ) {
    const { docId, store, log } = options;
    this.docId = docId;
    this.members = new RoomMembers(docId, options.onRelayed);
    this.compaction = new RoomCompaction({ ...options, stored, onSettled: () => this.notifyIfIdle() });
    this.writes = new WriteQueue({
      docId,
      log,
      append: async (source) => {
        const started = performance.now();
        const seq = await store.append(docId, source);
        options.onCommitDuration?.((performance.now() - started) / 1000);
        return seq;
      },
      grew: () => store.grew(),
      exportSpans: (spans) => oplog.exportSpans(spans),
      onStored: (seq, updates) => {
        // Past a gap, another node committed in between: read its entries.
        if (!stored.committedOwn({ seq, updates })) this.otherNodes.requestCatchUp();
        options.onCommitted(docId, seq, updates);
      },
      onBatchDone: (updates) => {
        options.onCommit(updates);
        this.compaction.maybeCompact();
      },
      onFailed: (reason) => this.fail(reason),
      onSettled: () => this.notifyIfIdle(),
    });
    this.otherNodes = new OtherNodeEdits({
      ...options,
      oplog,
      stored,
      members: this.members,
      onEntries: () => this.compaction.maybeCompact(),
      onSettled: () => this.notifyIfIdle(),
    });
  }

  /**
   * Loads a document from storage. Throws `DocumentGoneError` when it does not exist. A large
   * log after the snapshot is folded into a new snapshot first, in the heavy-work thread: a
   * snapshot imports lazily (about a millisecond), while the same history as log updates is
   * decoded on the event loop.
   */
  static async load(options: DocRoomOptions): Promise<DocRoom> {
    let stored = await options.store.load(options.docId);
    const logBytes = stored.log.reduce((n, e) => n + e.updates.reduce((m, u) => m + u.length, 0), 0);
    if (logBytes > COLD_LOAD_FOLD_BYTES) {
      try {
        if (await options.store.compact(options.docId)) stored = await options.store.load(options.docId);
      } catch (error) {
        // Loading from the log as it is still works, only slower.
        options.log.warn('doc.cold_load_fold_failed', { docId: options.docId, error });
      }
    }
    const oplog = await RoomOplog.load(stored);
    return new DocRoom(options, oplog, new StoredLog(stored.snapshot, stored.log, stored.headSeq));
  }

  /** Sizes, for logs and server stats. */
  stats(): { members: number; snapshotBytes: number; tailEntries: number; tailUpdates: number; tailBytes: number; appliedSeq: number } {
    return { members: this.members.size, ...this.stored.stats() };
  }

  get memberCount(): number {
    return this.members.size;
  }

  /**
   * What the document takes, as far as this node knows: stored bytes (snapshot, log, and
   * updates accepted but not yet written), and an upper bound of its text (exact at the last
   * compaction; every update since counts in full, deletions too).
   */
  size(): { storedBytes: number; textBytesBound: number } {
    const unstored = this.writes.unstoredBytes;
    return { storedBytes: this.stored.snapshotBytes + this.stored.tailBytes + unstored, textBytesBound: this.stored.textBytesBound + unstored };
  }

  /**
   * The size bound refused an update: fold the log now, which measures the text exactly, so a
   * bound made stale by deletions does not keep refusing later updates.
   */
  remeasure(): void {
    this.compaction.compactNow();
  }

  /** True while updates are queued or being written. */
  get hasPendingWrites(): boolean {
    return this.writes.hasPending;
  }

  get isIdle(): boolean {
    return this.members.size === 0 && !this.writes.hasPending && !this.compaction.busy && !this.otherNodes.busy;
  }

  /** Every log entry up to this seq is in this node's memory. */
  get committedSeq(): number {
    return this.stored.appliedSeq;
  }

  /** The log reaches `seq` (a doorbell from another node, or the periodic head check). */
  knownHead(seq: number): void {
    this.otherNodes.knownHead(seq);
  }

  /** A log entry another node committed, carried by its doorbell. */
  offerEntry(seq: number, updates: Uint8Array[]): void {
    this.otherNodes.offerEntry(seq, updates);
  }

  /** Edits another node accepted and has not stored yet: what is new here goes to the members. */
  offerEdits(updates: readonly Uint8Array[]): void {
    this.otherNodes.offerEdits(updates);
  }

  /** Reads the log past the applied seq (after a load, or when the bus lost messages). */
  requestCatchUp(): void {
    this.otherNodes.requestCatchUp();
  }

  /**
   * Adds a member and returns what it lacks. Synchronous, so no update can fall between the
   * catch-up and the member's first relay.
   */
  join(member: RoomMember, clientVersion: Uint8Array): JoinOutcome {
    const answer = answerJoin({ oplog: this.oplog, stored: this.stored, unstored: () => this.writes.unstored(), unstoredCount: () => this.writes.unstoredCount() }, clientVersion);
    if (!answer.ok) return answer;
    this.members.add(member, answer.fromStore && this.otherNodes.foreignEdits);
    return { ok: true, version: answer.version, catchUp: answer.catchUp, shared: answer.shared };
  }

  leave(member: RoomMember): void {
    this.members.delete(member);
    this.notifyIfIdle();
  }

  /**
   * Imports updates from a member, relays what was new to the other members, and queues it
   * for storage with who sent the peer ids it had not seen (`author`; for the version history).
   * The Ack may only be sent when `committed` resolves.
   */
  submit(from: RoomMember, updates: readonly Uint8Array[], author?: UpdateAuthor): SubmitOutcome {
    if (this.closed) throw new Error(`room ${this.docId} is closed`);
    const accepted: Uint8Array[] = [];
    const spans: OpSpan[] = [];
    const asSent: Uint8Array[] = [];
    /** New here and complete: for other nodes, ahead of the commit. */
    const ahead: Uint8Array[] = [];
    const peers: PeerAttribution[] = [];
    let invalid: string | null = null;
    for (const update of updates) {
      try {
        const status = this.oplog.import(update);
        if (hasPending(status) || this.otherNodes.foreignEdits) {
          // Stored as sent, not as an export of what was new here. Ops waiting for dependencies
          // are not in the oplog's export. And once this room has imported other nodes' edits
          // ahead of their commit, some of this update's ops may be here in memory only (their
          // node may have died before storing them, and this is their author resending them,
          // maybe merged with newer ones): an export of the new part would leave them out and
          // the Ack would be a lie. A duplicate entry costs nothing.
          asSent.push(update);
        } else spans.push(...spansOfImport(status));
        if (status.success.size > 0 && !hasPending(status)) ahead.push(update);
        // A pure duplicate brought nothing new: it is already stored or queued.
        if (status.success.size > 0 || asSent.at(-1) === update) {
          accepted.push(update);
          if (author) this.attribute(update, status, asSent.at(-1) === update, author, peers);
        }
      } catch (error) {
        invalid = error instanceof Error ? error.message : String(error);
      }
    }
    if (accepted.length > 0) {
      this.members.relay(accepted, from);
      if (ahead.length > 0) this.options.onAccepted(this.docId, ahead);
    }
    const committed = this.writes.enqueue({ updates: accepted, spans, asSent, peers });
    if (invalid !== null) {
      // The valid part is stored; nobody is told of its outcome (its sender hears invalid_update).
      return { kind: 'invalid', reason: invalid, committed: committed.catch(() => {}) };
    }
    return { kind: 'accepted', committed };
  }

  /**
   * Adds to `peers` the peer ids of an accepted update this room has not attributed yet. An
   * update stored as sent may bring ops the room already had from another node's early edit
   * (the import reports nothing new): its own header says which peers it holds.
   */
  private attribute(update: Uint8Array, status: ImportStatus, storedAsSent: boolean, author: UpdateAuthor, peers: PeerAttribution[]): void {
    const ids = new Set<string>([...status.success.keys(), ...(status.pending?.keys() ?? [])]);
    if (storedAsSent) for (const peer of decodeImportBlobMeta(update, false).partialEndVersionVector.toJSON().keys()) ids.add(peer);
    for (const peer of ids) {
      if (this.attributed.has(peer)) continue;
      this.attributed.add(peer);
      peers.push({ peer, userId: author.userId, linkId: author.linkId });
    }
  }

  /**
   * The room holds updates it could not store: its memory is ahead of the database. Drop it
   * so the next join reloads from storage, and ask members to rejoin (they still hold their
   * unacknowledged updates and send them again), or tell them the document is gone.
   */
  private fail(reason: CommitFailure): void {
    if (reason === 'document_gone') this.members.evictAll(RoomErrorCode.Evicted, 'document deleted');
    else this.members.evictAll(RoomErrorCode.RejoinSuggested, 'storage failed; rejoin to resynchronise');
    this.options.onBroken(this);
  }

  private notifyIfIdle(): void {
    if (!this.closed && this.isIdle) this.options.onIdle(this);
  }

  /** Resolves once nothing is queued or being written (the caller bounds how long it waits). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Frees the room. Queued writes that never committed are rejected (never acknowledged). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.writes.close();
    this.otherNodes.close();
    this.compaction.close();
    this.members.clear();
    this.oplog.free();
    Relay.forgetCatchUps(this.docId);
  }
}

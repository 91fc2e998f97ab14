/**
 * One loaded document (%LOR room): its Loro oplog in memory, the sockets in it, and the
 * write path that makes every accepted update durable before it is acknowledged.
 *
 * The in-memory LoroDoc is *detached*: imports go to the oplog only and the text state is
 * never materialised. The server never reads the text, and materialising it is what makes the
 * first edit after loading a large snapshot slow (automerge-paper: ~50 ms attached, ~1 ms
 * detached; see DESIGN.md "Known pitfalls").
 *
 * Write path (group commit): an accepted update is imported, relayed at once to the other
 * members of this room, queued, and written with every other update queued meanwhile in one
 * transaction; after COMMIT the senders get their Acks and other nodes a doorbell. While the
 * database is unreachable the queue is retried with backoff, nothing is acknowledged, and
 * sockets stay open.
 *
 * Relay before COMMIT, Ack after: an Ack is the promise that the update survives anything; a
 * relayed update is only what the others see now. Waiting for the COMMIT before relaying put
 * a transaction on every keystroke's path to the other screens (p50 3 ms vs 0.7 ms, see
 * README "Against the alternatives"). When a write fails for good, the room is dropped and
 * every member asked to rejoin: the sender still holds the unacknowledged update and sends it
 * again, and SyncClient re-sends what the server lacks on every join, so the update comes
 * back from whoever saw it. Other nodes still learn of an update only after its COMMIT.
 */
import { LoroDoc, VersionVector, decodeImportBlobMeta, type ImportStatus, type PeerID } from 'loro-crdt';
import { RoomErrorCode } from '../../shared/protocol/index';
import type { Logger } from '../logger';
import { DocumentGoneError, isTransientDatabaseError, type DocStore, type LogEntry, type Snapshot } from './doc-store';
import { Relay, type RoomMember } from './member';

/** Why an accepted update could not be stored. */
export type CommitFailure = 'document_gone' | 'storage_failed';

export class CommitError extends Error {
  override readonly name = 'CommitError';
  constructor(readonly reason: CommitFailure) {
    super(reason);
  }
}

export type JoinOutcome =
  | { ok: true; version: Uint8Array; catchUp: Uint8Array[] }
  | { ok: false; reason: 'version_unknown'; version: Uint8Array };

export type SubmitOutcome =
  /** Every update imported; `committed` settles when they are durable (rejects with CommitError). */
  | { kind: 'accepted'; committed: Promise<void> }
  /** At least one update was rejected by Loro; the valid ones are stored anyway. */
  | { kind: 'invalid'; reason: string };

/** Ops newly imported from one submit: counters `[start, end)` of one peer. */
interface Span {
  peer: PeerID;
  start: number;
  end: number;
}

interface QueuedWrite {
  /** The updates as the member sent them (what other contributors to a commit are relayed). */
  updates: Uint8Array[];
  /** The ops they brought that the room did not have. */
  spans: Span[];
  /**
   * Updates stored as sent, not merged by span: ones with ops still waiting for their
   * dependencies, and duplicates whose ops may be in memory only (see `submit`). Not sent to
   * other nodes ahead of the commit.
   */
  asSent: Uint8Array[];
  from: RoomMember | null;
  resolve: () => void;
  reject: (error: CommitError) => void;
}

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
}

/** Retry delays for writes while the database is unreachable: 50 ms doubling to 2 s. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;
/** Most submits (and bytes) in one commit; the rest go in the next one. */
const MAX_SUBMITS_PER_COMMIT = 10_000;
const MAX_BYTES_PER_COMMIT = 16 * 1024 * 1024;

/**
 * A commit of more updates than this is stored as one merged update (see `logEntryOf`). One:
 * every entry then counts as one update towards compaction, however the commit was made.
 */
const MERGE_ABOVE_UPDATES = 1;

/** Updates imported after the whole-document export before it is made again. */
const WHOLE_EXPORT_TAIL = 8;

/** A log without snapshot up to this size goes to joiners as stored. */
const SMALL_LOG_BYTES = 64 * 1024;

/** Largest oplog exported whole for a joiner (automerge-paper's 260k ops export in ~15 ms). */
const WHOLE_EXPORT_MAX_OPS = 400_000;

const hasPending = (status: ImportStatus): boolean => (status.pending?.size ?? 0) > 0;
/** Updates waiting for dependencies kept for joiners (see `DocRoom.waiting`). */
const WAITING_KEPT = 1_000;

/**
 * Whether an import added ops (or left some waiting for dependencies). One that did not was a
 * duplicate: every op it holds reached this room's members when it was first imported, or was
 * in their join answer.
 */
const broughtSomething = (status: ImportStatus): boolean => status.success.size > 0 || hasPending(status);

/** Ops in a document's oplog (the sum of its version vector). */
function opCount(doc: LoroDoc): number {
  const version = doc.oplogVersion();
  try {
    let ops = 0;
    for (const counter of version.toJSON().values()) ops += counter;
    return ops;
  } finally {
    version.free();
  }
}

/** Log entries imported between yields while loading. */
const LOAD_CHUNK = 100;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const sizeOf = (updates: readonly Uint8Array[]): number => updates.reduce((n, u) => n + u.length, 0);

/** Sorts and merges overlapping or touching spans of the same peer. */
function mergeSpans(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => (a.peer === b.peer ? a.start - b.start : a.peer < b.peer ? -1 : 1));
  const out: Span[] = [];
  for (const span of sorted) {
    const last = out.at(-1);
    if (last && last.peer === span.peer && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else out.push({ ...span });
  }
  return out;
}

export class DocRoom {
  readonly docId: string;
  private readonly doc: LoroDoc;
  private readonly members = new Set<RoomMember>();
  /** Latest snapshot this node knows of, and the committed log entries after it. */
  private base: Snapshot | null;
  private tail: LogEntry[];
  private tailUpdates: number;
  private tailBytes: number;
  private queue: QueuedWrite[] = [];
  /** The batch being written (taken out of `queue`, not yet committed). */
  private inFlight: QueuedWrite[] = [];
  private writing: Promise<void> | null = null;
  private compacting = false;
  private closed = false;
  private retryDelay = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Resolves when the pending retry starts (while backing off). */
  private retryStarted: Promise<void> | null = null;
  /** Every log entry up to this seq is in memory (own commits and other nodes'). */
  private appliedSeq: number;
  /** Own commits past a gap: entries other nodes committed in between are not read yet. */
  private readonly ownAhead = new Set<number>();
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  /** The oplog exported as one update for joiners with nothing, and the updates imported since. */
  private whole: { bytes: Uint8Array; since: Uint8Array[] } | null = null;
  /** Some import left ops waiting for dependencies (rare): joiners then get the stored bytes. */
  private mayHavePending = false;
  /**
   * Updates whose ops wait here for dependencies (at most WAITING_KEPT): an export of the
   * oplog leaves them out, so a member that joins meanwhile gets them as they are. When their
   * dependencies arrive they complete without a relay of their own.
   */
  private readonly waiting = new Set<Uint8Array>();
  /** Another node's edits were imported ahead of their commit (see `offerEdits`). */
  private foreignEdits = false;
  /**
   * Members answered from stored bytes after another node's edits were imported ahead of their
   * commit: their answer may lack those edits, so committed entries that bring this room
   * nothing new still go to them (to the other members they would be duplicates).
   */
  private readonly lateJoiners = new Set<RoomMember>();

  private constructor(
    private readonly options: DocRoomOptions,
    doc: LoroDoc,
    base: Snapshot | null,
    tail: LogEntry[],
    appliedSeq: number,
  ) {
    this.docId = options.docId;
    this.doc = doc;
    this.base = base;
    this.tail = tail;
    this.tailUpdates = 0;
    this.tailBytes = 0;
    for (const entry of tail) this.countTail(entry, 1);
    this.appliedSeq = appliedSeq;
  }

  private countTail(entry: LogEntry, sign: 1 | -1): void {
    this.tailUpdates += sign * entry.updates.length;
    this.tailBytes += sign * sizeOf(entry.updates);
  }

  /**
   * Loads a document from storage. Throws `DocumentGoneError` when it does not exist. The
   * imports yield to the event loop between chunks, so loading a large document does not
   * hold up the other rooms for its whole duration.
   */
  static async load(options: DocRoomOptions): Promise<DocRoom> {
    const stored = await options.store.load(options.docId);
    const doc = new LoroDoc();
    /** Chunks that left ops waiting for dependencies: their updates go to `waiting`. */
    const waiting: Uint8Array[] = [];
    try {
      if (stored.snapshot) doc.import(stored.snapshot.bytes);
      doc.detach();
      const updates = [...(stored.snapshot?.pending ? [stored.snapshot.pending] : []), ...stored.log.flatMap((e) => e.updates)];
      for (let start = 0; start < updates.length; start += LOAD_CHUNK) {
        await yieldToEventLoop();
        const chunk = updates.slice(start, start + LOAD_CHUNK);
        if (hasPending(doc.importBatch(chunk))) waiting.push(...chunk);
      }
    } catch (error) {
      doc.free();
      throw error;
    }
    const room = new DocRoom(options, doc, stored.snapshot, stored.log, stored.headSeq);
    room.mayHavePending = waiting.length > 0;
    for (const u of waiting) room.keepWaiting(u);
    return room;
  }

  /** Sizes, for logs and server stats. */
  stats(): { members: number; snapshotBytes: number; tailEntries: number; tailUpdates: number; tailBytes: number; appliedSeq: number } {
    return {
      members: this.members.size,
      snapshotBytes: this.base?.bytes.length ?? 0,
      tailEntries: this.tail.length,
      tailUpdates: this.tailUpdates,
      tailBytes: this.tailBytes,
      appliedSeq: this.appliedSeq,
    };
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** True while updates are queued or being written. */
  get hasPendingWrites(): boolean {
    return this.queue.length > 0 || this.writing !== null;
  }

  get isIdle(): boolean {
    return this.members.size === 0 && !this.hasPendingWrites && !this.compacting && !this.catchingUp;
  }

  /** Every log entry up to this seq is in this node's memory. */
  get committedSeq(): number {
    return this.appliedSeq;
  }

  /**
   * The log reaches `seq` (a doorbell from another node, or the periodic head check): read
   * what this node lacks.
   */
  knownHead(seq: number): void {
    if (seq > this.appliedSeq) this.requestCatchUp();
  }

  /**
   * A log entry another node committed, carried by its doorbell: applied at once when it is
   * the next one; anything else (a gap, a catch-up already running) goes through the log.
   */
  offerEntry(seq: number, updates: Uint8Array[]): void {
    if (this.closed || seq <= this.appliedSeq) return;
    if (seq !== this.appliedSeq + 1 || this.catchingUp || this.ownAhead.has(seq)) {
      this.requestCatchUp();
      return;
    }
    let status: ImportStatus;
    try {
      status = this.doc.importBatch(updates);
      this.imported(status, updates);
    } catch (error) {
      this.options.log.warn('doc.offered_entry_invalid', { docId: this.docId, seq, error });
      this.requestCatchUp();
      return;
    }
    const entry = { seq, updates };
    this.tail.push(entry);
    this.countTail(entry, 1);
    this.advanceTo(seq);
    this.options.onOtherNodesEntry('doorbell');
    if (broughtSomething(status)) this.relay(updates);
    else this.relayTo(this.lateJoiners, updates);
    this.maybeCompact();
  }

  /**
   * Edits another node accepted and has not stored yet (BusMessage 'edits'): what is new here
   * goes to this node's members at once. Nothing else changes: the committed entry follows
   * through the log as usual; it brings this room nothing new then, and goes only to members
   * who joined in between and were answered from stored bytes (`lateJoiners`).
   */
  offerEdits(updates: readonly Uint8Array[]): void {
    if (this.closed || this.members.size === 0) return;
    const fresh: Uint8Array[] = [];
    for (const update of updates) {
      try {
        const status = this.doc.import(update);
        this.imported(status, [update]);
        // Relayed even when its ops wait for dependencies this node lacks (an edit it skipped
        // while nobody was in the room, or one whose message comes later): once those arrive
        // they complete it here without a relay of it, so a member would never get it.
        if (broughtSomething(status)) fresh.push(update);
      } catch (error) {
        this.options.log.warn('doc.offered_edit_invalid', { docId: this.docId, error });
      }
    }
    if (fresh.length > 0) {
      this.foreignEdits = true;
      this.relay(fresh);
    }
  }

  /** Reads the log past `appliedSeq`; runs one at a time, again if asked meanwhile. */
  requestCatchUp(): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = this.catchUp()
      .catch((error: unknown) => this.options.log.warn('doc.catch_up_failed', { docId: this.docId, error }))
      .finally(() => {
        this.catchingUp = null;
        if (this.catchUpAgain) {
          this.catchUpAgain = false;
          this.requestCatchUp();
        } else this.notifyIfIdle();
      });
  }

  /**
   * Imports other nodes' log entries (and their snapshot, when one compacted past us) and
   * relays them to this node's sockets. The log is gap-free, so after this everything up to
   * the last entry read is in memory.
   */
  private async catchUp(): Promise<void> {
    this.options.onOtherNodesEntry('log read');
    const since = await this.options.store.readSince(this.docId, this.appliedSeq);
    if (this.closed) return;
    const relayed: Uint8Array[] = [];
    const nothingNew: Uint8Array[] = [];
    if (since.snapshot && since.snapshot.seq > this.appliedSeq) {
      // Another node folded entries we never read into a snapshot: take the snapshot.
      const before = this.doc.oplogVersion();
      this.doc.import(since.snapshot.bytes);
      const diff = this.doc.export({ mode: 'update', from: before });
      before.free();
      this.imported(null, [diff]);
      relayed.push(diff);
      if (since.snapshot.pending) {
        // What waits for dependencies is not in the export: it goes as it is.
        const status = this.doc.import(since.snapshot.pending);
        this.imported(status, [since.snapshot.pending]);
        if (hasPending(status)) relayed.push(since.snapshot.pending);
      }
      this.base = since.snapshot;
      for (const entry of this.tail) if (entry.seq <= since.snapshot.seq) this.countTail(entry, -1);
      this.tail = this.tail.filter((e) => e.seq > since.snapshot!.seq);
      this.advanceTo(since.snapshot.seq);
    }
    for (const entry of since.log) {
      if (entry.seq <= this.appliedSeq) continue;
      if (!this.ownAhead.has(entry.seq)) {
        const status = this.doc.importBatch(entry.updates);
        this.imported(status, entry.updates);
        this.tail.push(entry);
        this.countTail(entry, 1);
        (broughtSomething(status) ? relayed : nothingNew).push(...entry.updates);
      }
      this.advanceTo(entry.seq);
    }
    if (relayed.length > 0) this.relay(relayed);
    if (nothingNew.length > 0) this.relayTo(this.lateJoiners, nothingNew);
    this.maybeCompact();
  }

  /** Everything up to `seq` is applied; absorbs own commits that were waiting past a gap. */
  private advanceTo(seq: number): void {
    if (seq <= this.appliedSeq) return;
    this.appliedSeq = seq;
    for (const own of [...this.ownAhead]) if (own <= seq) this.ownAhead.delete(own);
    while (this.ownAhead.delete(this.appliedSeq + 1)) this.appliedSeq += 1;
  }

  /**
   * Adds a member and returns what it lacks. Synchronous, so no update can fall between the
   * catch-up and the member's first relay.
   */
  join(member: RoomMember, clientVersion: Uint8Array): JoinOutcome {
    const serverVersion = this.doc.oplogVersion();
    try {
      const version = serverVersion.encode();
      let catchUp: Uint8Array[];
      let fromStore = false;
      if (clientVersion.length === 0) {
        ({ updates: catchUp, fromStore } = this.everything());
      } else {
        let vv: VersionVector;
        try {
          vv = VersionVector.decode(clientVersion);
        } catch {
          return { ok: false, reason: 'version_unknown', version };
        }
        try {
          if (vv.length() === 0) ({ updates: catchUp, fromStore } = this.everything());
          else {
            const cmp = serverVersion.compare(vv);
            // 0: same; -1: the client is strictly ahead (it will send what we lack).
            catchUp = cmp === 0 || cmp === -1 ? [] : [this.doc.export({ mode: 'update', from: vv })];
          }
        } finally {
          vv.free();
        }
      }
      if (this.waiting.size > 0) catchUp = [...catchUp, ...this.stillWaiting()];
      this.members.add(member);
      if (fromStore && this.foreignEdits) this.lateJoiners.add(member);
      return { ok: true, version, catchUp };
    } finally {
      serverVersion.free();
    }
  }

  /**
   * The whole document, for a member that has nothing: one update exported from the oplog
   * (shared by every such joiner until it falls behind), else the stored bytes.
   *
   * An update, not the snapshot, because of what it costs the client. A Loro document that
   * has subscribers (every Tandem client's does: the text binding, undo) imports a snapshot of
   * automerge-paper's history in ~1.5 s (Loro computes the event by replaying the history),
   * and the same history as an update in ~57 ms; exporting it here takes ~15 ms, once.
   * Larger oplogs (automerge-paper ×10: ~400 ms to export) still go as stored bytes, so a
   * join never holds the event loop that long; exporting those in the compaction worker is
   * the next step.
   */
  private everything(): { updates: Uint8Array[]; fromStore: boolean } {
    if (this.mayHavePending) return { updates: this.storedEverything(), fromStore: true }; // pending ops are not in the oplog's export
    // No snapshot and a short, small log: the stored bytes are a few small updates already (a
    // large entry may be a client's snapshot, which is what the export is for).
    if (!this.base && this.tailBytes <= SMALL_LOG_BYTES && this.tailUpdates + this.unstoredUpdates() <= WHOLE_EXPORT_TAIL) return { updates: this.storedEverything(), fromStore: true };
    if (!this.whole) {
      // The export holds the event loop for ~60 ns an op: past a bound, the stored bytes go as they are.
      if (opCount(this.doc) > WHOLE_EXPORT_MAX_OPS) return { updates: this.storedEverything(), fromStore: true };
      this.whole = { bytes: this.doc.export({ mode: 'update' }), since: [] };
    }
    return { updates: [this.whole.bytes, ...this.whole.since], fromStore: false };
  }

  /** Keeps an update whose ops wait for dependencies, making room by dropping completed ones. */
  private keepWaiting(update: Uint8Array): void {
    if (this.waiting.size >= WAITING_KEPT) this.stillWaiting();
    if (this.waiting.size < WAITING_KEPT) this.waiting.add(update);
  }

  /**
   * The updates of `waiting` whose ops still wait; the others, complete now (and in the oplog's
   * export), are dropped. Checked against the oplog's version, not by importing them again:
   * Loro would keep another copy of every change still waiting.
   */
  private stillWaiting(): Uint8Array[] {
    const version = this.doc.oplogVersion();
    try {
      for (const u of this.waiting) {
        let complete = true;
        try {
          const meta = decodeImportBlobMeta(u, false);
          for (const [peer, end] of meta.partialEndVersionVector.toJSON()) if ((version.get(peer) ?? 0) < end) complete = false;
          meta.partialStartVersionVector.free();
          meta.partialEndVersionVector.free();
        } catch {
          // unreadable: it cannot be waiting in the oplog either
        }
        if (complete) this.waiting.delete(u);
      }
    } finally {
      version.free();
    }
    return [...this.waiting];
  }

  private unstoredUpdates(): number {
    return this.inFlight.reduce((n, w) => n + w.updates.length, 0) + this.queue.reduce((n, w) => n + w.updates.length, 0);
  }

  /**
   * Notes an import into the oplog: the whole-document export grows a tail (or is dropped when
   * the tail gets long), and an update waiting for its dependencies turns the export off.
   */
  private imported(status: ImportStatus | null, updates: readonly Uint8Array[]): void {
    if (status && hasPending(status)) {
      this.mayHavePending = true;
      for (const u of updates) this.keepWaiting(u);
    }
    if (!this.whole) return;
    this.whole.since.push(...updates);
    if (this.whole.since.length > WHOLE_EXPORT_TAIL) this.whole = null;
  }

  /**
   * The whole document as stored bytes (latest snapshot + the committed log after it), then
   * the accepted updates not yet committed: those were relayed before this member joined.
   */
  private storedEverything(): Uint8Array[] {
    return [
      ...(this.base ? [this.base.bytes] : []),
      ...(this.base?.pending ? [this.base.pending] : []),
      ...this.tail.flatMap((e) => e.updates),
      ...this.inFlight.flatMap((w) => w.updates),
      ...this.queue.flatMap((w) => w.updates),
    ];
  }

  leave(member: RoomMember): void {
    this.members.delete(member);
    this.lateJoiners.delete(member);
    this.notifyIfIdle();
  }

  /**
   * Imports updates from a member, relays what was new to the other members, and queues it
   * for storage. The Ack may only be sent when `committed` resolves.
   */
  submit(from: RoomMember, updates: readonly Uint8Array[]): SubmitOutcome {
    if (this.closed) throw new Error(`room ${this.docId} is closed`);
    const accepted: Uint8Array[] = [];
    const spans: Span[] = [];
    const asSent: Uint8Array[] = [];
    /** New here and complete: for other nodes, ahead of the commit. */
    const ahead: Uint8Array[] = [];
    let invalid: string | null = null;
    for (const update of updates) {
      try {
        const status = this.doc.import(update);
        this.imported(status, [update]);
        if (hasPending(status) || this.foreignEdits) {
          // Stored as sent, not as an export of what was new here. Ops waiting for dependencies
          // are not in the oplog's export. And once this room has imported other nodes' edits
          // ahead of their commit, some of this update's ops may be here in memory only (their
          // node may have died before storing them, and this is their author resending them,
          // maybe merged with newer ones): an export of the new part would leave them out and
          // the Ack would be a lie. A duplicate entry costs nothing.
          asSent.push(update);
        } else for (const [peer, { start, end }] of status.success) spans.push({ peer, start, end });
        if (status.success.size > 0 && !hasPending(status)) ahead.push(update);
        // A pure duplicate brought nothing new: it is already stored or queued.
        if (status.success.size > 0 || asSent.at(-1) === update) accepted.push(update);
      } catch (error) {
        invalid = error instanceof Error ? error.message : String(error);
      }
    }
    if (accepted.length > 0) {
      this.relay(accepted, from);
      if (ahead.length > 0) this.options.onAccepted(this.docId, ahead);
    }
    // A duplicate still takes its place in the queue: it may repeat an update that is queued
    // but not yet committed, and its Ack must not overtake that commit.
    const committed = new Promise<void>((resolve, reject) => {
      this.queue.push({ updates: accepted, spans, asSent, from, resolve, reject });
      this.kick();
    });
    if (invalid !== null) {
      committed.catch(() => {}); // the valid part is stored; nobody waits on its outcome
      return { kind: 'invalid', reason: invalid };
    }
    return { kind: 'accepted', committed };
  }

  /** Sends updates to every member but `except` (framed once for all). */
  private relay(updates: readonly Uint8Array[], except?: RoomMember): void {
    this.relayTo(this.members, updates, except);
  }

  private relayTo(members: ReadonlySet<RoomMember>, updates: readonly Uint8Array[], except?: RoomMember): void {
    if (members.size === 0) return;
    const relay = new Relay('doc', this.docId, updates);
    for (const member of members) if (member !== except) member.deliver(relay);
  }

  private kick(): void {
    if (this.writing || this.retryTimer || this.closed) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = null;
      if (this.queue.length > 0 && !this.retryTimer) this.kick();
      else this.notifyIfIdle();
    });
  }

  /**
   * Writes what is queued as one log entry, in one transaction; on a transient failure,
   * schedules a retry. The entry holds the commit's new ops as a single Loro update (exported
   * from the oplog by span), not the many small updates they arrived in: a keystroke's update
   * carries ~80 bytes of envelope, and importing thousands of tiny updates is what makes a
   * document slow to load.
   */
  private async writeQueued(): Promise<void> {
    const batch: QueuedWrite[] = [];
    let bytes = 0;
    for (const next of this.queue) {
      const size = sizeOf(next.updates);
      if (batch.length > 0 && (batch.length >= MAX_SUBMITS_PER_COMMIT || bytes + size > MAX_BYTES_PER_COMMIT)) break;
      batch.push(next);
      bytes += size;
    }
    this.queue.splice(0, batch.length);
    this.inFlight = batch;
    try {
      await this.writeBatch(batch);
    } finally {
      this.inFlight = [];
    }
  }

  private async writeBatch(batch: QueuedWrite[]): Promise<void> {
    const updates = this.logEntryOf(batch);
    if (updates.length > 0) {
      let seq: number;
      try {
        seq = await this.options.store.append(this.docId, updates);
      } catch (error) {
        if (this.closed) {
          for (const w of batch) w.reject(new CommitError('storage_failed'));
          return;
        }
        if (isTransientDatabaseError(error)) {
          // Put the batch back in front and try again later; nothing is acknowledged meanwhile.
          this.queue.unshift(...batch);
          this.options.log.warn('doc.write_retry', { docId: this.docId, updates: updates.length, inMs: this.retryDelay, error });
          let started!: () => void;
          this.retryStarted = new Promise((resolve) => (started = resolve));
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.retryStarted = null;
            this.kick();
            started();
          }, this.retryDelay);
          this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
          return;
        }
        const reason: CommitFailure = error instanceof DocumentGoneError ? 'document_gone' : 'storage_failed';
        this.options.log.error('doc.write_failed', { docId: this.docId, updates: updates.length, error });
        for (const w of batch) w.reject(new CommitError(reason));
        this.fail(reason);
        return;
      }
      this.retryDelay = RETRY_MIN_MS;
      const entry = { seq, updates };
      this.tail.push(entry);
      this.countTail(entry, 1);
      if (seq === this.appliedSeq + 1) this.advanceTo(seq);
      else {
        // Another node committed in between: read its entries.
        this.ownAhead.add(seq);
        this.requestCatchUp();
      }
      this.options.onCommitted(this.docId, seq, updates);
    }
    for (const w of batch) w.resolve();
    this.options.onCommit(batch.reduce((n, w) => n + w.updates.length, 0));
    this.maybeCompact();
  }

  /**
   * What a commit stores. A lone update is stored as it came (re-exporting a keystroke from the
   * oplog cost more than the rest of its commit); several are merged into one update by span,
   * so that a log of thousands of keystrokes does not load as thousands of imports, and the
   * log's update count (which triggers compaction) grows by one per commit.
   */
  private logEntryOf(batch: readonly QueuedWrite[]): Uint8Array[] {
    const sent = batch.reduce((n, w) => n + w.updates.length, 0);
    if (sent <= MERGE_ABOVE_UPDATES) return batch.flatMap((w) => w.updates);
    const spans = mergeSpans(batch.flatMap((w) => w.spans));
    return [
      ...(spans.length > 0
        ? [this.doc.export({ mode: 'updates-in-range', spans: spans.map((s) => ({ id: { peer: s.peer, counter: s.start }, len: s.end - s.start })) })]
        : []),
      ...batch.flatMap((w) => w.asSent),
    ];
  }

  private maybeCompact(): void {
    const { compactAfterUpdates, compactAfterBytes } = this.options;
    if (this.closed || this.compacting || (this.tailUpdates < compactAfterUpdates && this.tailBytes < compactAfterBytes)) return;
    this.compacting = true;
    const started = performance.now();
    this.options.store
      .compact(this.docId)
      .then((snapshot) => {
        if (!snapshot || this.closed) return;
        if (!this.base || snapshot.seq > this.base.seq) {
          this.base = snapshot;
          for (const entry of this.tail) if (entry.seq <= snapshot.seq) this.countTail(entry, -1);
          this.tail = this.tail.filter((e) => e.seq > snapshot.seq);
        }
        this.options.log.debug('doc.compacted', {
          docId: this.docId,
          seq: snapshot.seq,
          bytes: snapshot.bytes.length,
          ms: Math.round(performance.now() - started),
          tailUpdates: this.tailUpdates,
        });
      })
      .catch((error: unknown) => this.options.log.warn('doc.compaction_failed', { docId: this.docId, error }))
      .finally(() => {
        this.compacting = false;
        this.notifyIfIdle();
      });
  }

  /**
   * The room holds updates it could not store: its memory is ahead of the database. Drop it
   * so the next join reloads from storage, and ask members to rejoin (they still hold their
   * unacknowledged updates and send them again), or tell them the document is gone.
   */
  private fail(reason: CommitFailure): void {
    const [code, message] =
      reason === 'document_gone'
        ? [RoomErrorCode.Evicted, 'document deleted']
        : [RoomErrorCode.RejoinSuggested, 'storage failed; rejoin to resynchronise'];
    for (const member of [...this.members]) member.evict('doc', this.docId, code, message);
    this.members.clear();
    this.lateJoiners.clear();
    this.options.onBroken(this);
  }

  private notifyIfIdle(): void {
    if (!this.closed && this.isIdle) this.options.onIdle(this);
  }

  /** Resolves once nothing is queued or being written (the caller bounds how long it waits). */
  async flush(): Promise<void> {
    while (this.hasPendingWrites && !this.closed) {
      // While backing off, wait for the retry: hammering a database that is down helps nobody.
      if (this.writing) await this.writing;
      else if (this.retryStarted) await this.retryStarted;
      else this.kick();
    }
  }

  /** Frees the room. Queued writes that never committed are rejected (never acknowledged). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const w of this.queue.splice(0)) w.reject(new CommitError('storage_failed'));
    this.members.clear();
    this.lateJoiners.clear();
    this.doc.free();
  }
}

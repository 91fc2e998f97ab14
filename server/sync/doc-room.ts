/**
 * One loaded document (%LOR room): its Loro oplog in memory, the sockets in it, and the
 * write path that makes every accepted update durable before it is acknowledged or relayed.
 *
 * The in-memory LoroDoc is *detached*: imports go to the oplog only and the text state is
 * never materialised. The server never reads the text, and materialising it is what makes the
 * first edit after loading a large snapshot slow (automerge-paper: ~50 ms attached, ~1 ms
 * detached; see DESIGN.md "Known pitfalls").
 *
 * Write path (group commit): an accepted update is imported, queued, and written with every
 * other update queued meanwhile in one transaction; after COMMIT the senders get their Acks
 * and the other members the updates. While the database is unreachable the queue is retried
 * with backoff, nothing is acknowledged, and sockets stay open.
 */
import { LoroDoc, VersionVector } from 'loro-crdt';
import { RoomErrorCode } from '../../shared/protocol/index';
import type { Logger } from '../logger';
import { DocumentGoneError, isTransientDatabaseError, type DocStore } from './doc-store';
import type { RoomMember } from './member';

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

interface LoggedBytes {
  seq: number;
  bytes: Uint8Array;
}

interface QueuedWrite {
  updates: Uint8Array[];
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
}

/** Retry delays for writes while the database is unreachable: 50 ms doubling to 2 s. */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;
/** Most updates written in one transaction; the rest go in the next one. */
const MAX_UPDATES_PER_COMMIT = 5_000;

export class DocRoom {
  readonly docId: string;
  private readonly doc: LoroDoc;
  private readonly members = new Set<RoomMember>();
  /** Latest snapshot this node knows of, and the committed updates after it. */
  private base: LoggedBytes | null;
  private tail: LoggedBytes[];
  private tailBytes: number;
  private queue: QueuedWrite[] = [];
  private writing: Promise<void> | null = null;
  private compacting = false;
  private closed = false;
  private retryDelay = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private headSeq: number;

  private constructor(
    private readonly options: DocRoomOptions,
    doc: LoroDoc,
    base: LoggedBytes | null,
    tail: LoggedBytes[],
    headSeq: number,
  ) {
    this.docId = options.docId;
    this.doc = doc;
    this.base = base;
    this.tail = tail;
    this.tailBytes = tail.reduce((n, u) => n + u.bytes.length, 0);
    this.headSeq = headSeq;
  }

  /** Loads a document from storage. Throws `DocumentGoneError` when it does not exist. */
  static async load(options: DocRoomOptions): Promise<DocRoom> {
    const stored = await options.store.load(options.docId);
    const doc = new LoroDoc();
    try {
      if (stored.snapshot) doc.import(stored.snapshot.bytes);
      doc.detach();
      if (stored.updates.length > 0) doc.importBatch(stored.updates.map((u) => u.bytes));
    } catch (error) {
      doc.free();
      throw error;
    }
    return new DocRoom(options, doc, stored.snapshot, stored.updates, stored.headSeq);
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** True while updates are queued or being written. */
  get hasPendingWrites(): boolean {
    return this.queue.length > 0 || this.writing !== null;
  }

  get isIdle(): boolean {
    return this.members.size === 0 && !this.hasPendingWrites && !this.compacting;
  }

  /** The last sequence number this node has committed or loaded. */
  get committedSeq(): number {
    return this.headSeq;
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
      if (clientVersion.length === 0) {
        catchUp = this.everything();
      } else {
        let vv: VersionVector;
        try {
          vv = VersionVector.decode(clientVersion);
        } catch {
          return { ok: false, reason: 'version_unknown', version };
        }
        try {
          if (vv.length() === 0) catchUp = this.everything();
          else {
            const cmp = serverVersion.compare(vv);
            // 0: same; -1: the client is strictly ahead (it will send what we lack).
            catchUp = cmp === 0 || cmp === -1 ? [] : [this.doc.export({ mode: 'update', from: vv })];
          }
        } finally {
          vv.free();
        }
      }
      this.members.add(member);
      return { ok: true, version, catchUp };
    } finally {
      serverVersion.free();
    }
  }

  /** The whole document as stored bytes: latest snapshot + the committed log after it. */
  private everything(): Uint8Array[] {
    return [...(this.base ? [this.base.bytes] : []), ...this.tail.map((u) => u.bytes)];
  }

  leave(member: RoomMember): void {
    this.members.delete(member);
    this.notifyIfIdle();
  }

  /**
   * Imports updates from a member and queues them for storage. The Ack may only be sent
   * when `committed` resolves.
   */
  submit(from: RoomMember, updates: readonly Uint8Array[]): SubmitOutcome {
    if (this.closed) throw new Error(`room ${this.docId} is closed`);
    const accepted: Uint8Array[] = [];
    let invalid: string | null = null;
    for (const update of updates) {
      try {
        const status = this.doc.import(update);
        // Store what brought something new (applied or waiting for dependencies). A pure
        // duplicate is already stored or queued, and need not be written again.
        if (status.success.size > 0 || (status.pending && status.pending.size > 0)) accepted.push(update);
      } catch (error) {
        invalid = error instanceof Error ? error.message : String(error);
      }
    }
    // A duplicate still waits for the queue ahead of it: it may repeat an update that is
    // queued but not yet committed, and its Ack must not overtake that commit.
    const committed = this.enqueue(accepted, from);
    if (invalid !== null) {
      committed.catch(() => {}); // the valid part is stored; nobody waits on its outcome
      return { kind: 'invalid', reason: invalid };
    }
    return { kind: 'accepted', committed };
  }

  private enqueue(updates: Uint8Array[], from: RoomMember | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ updates, from, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing || this.retryTimer || this.closed) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = null;
      if (this.queue.length > 0 && !this.retryTimer) this.kick();
      else this.notifyIfIdle();
    });
  }

  /** Writes what is queued in one transaction; on a transient failure, schedules a retry. */
  private async writeQueued(): Promise<void> {
    const batch: QueuedWrite[] = [];
    let count = 0;
    while (this.queue.length > 0 && (batch.length === 0 || count + this.queue[0]!.updates.length <= MAX_UPDATES_PER_COMMIT)) {
      const next = this.queue.shift()!;
      batch.push(next);
      count += next.updates.length;
    }
    const updates = batch.flatMap((w) => w.updates);
    let firstSeq = this.headSeq + 1;
    if (updates.length > 0) {
      try {
        ({ firstSeq } = await this.options.store.append(this.docId, updates));
      } catch (error) {
        if (this.closed) {
          for (const w of batch) w.reject(new CommitError('storage_failed'));
          return;
        }
        if (isTransientDatabaseError(error)) {
          // Put the batch back in front and try again later; nothing is acknowledged meanwhile.
          this.queue.unshift(...batch);
          this.options.log.warn('doc.write_retry', { docId: this.docId, updates: updates.length, inMs: this.retryDelay, error });
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.kick();
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
      let seq = firstSeq;
      for (const bytes of updates) {
        this.tail.push({ seq: seq++, bytes });
        this.tailBytes += bytes.length;
      }
      this.headSeq = seq - 1;
    }
    for (const w of batch) w.resolve();
    this.relay(batch);
    this.maybeCompact();
  }

  /** Sends committed updates to every member but their senders. */
  private relay(batch: readonly QueuedWrite[]): void {
    if (this.members.size === 0) return;
    const all = batch.flatMap((w) => w.updates);
    if (all.length === 0) return;
    const senders = new Set(batch.map((w) => w.from));
    for (const member of this.members) {
      const updates = senders.has(member) ? batch.filter((w) => w.from !== member).flatMap((w) => w.updates) : all;
      if (updates.length > 0) member.deliver('doc', this.docId, updates);
    }
  }

  private maybeCompact(): void {
    const { compactAfterUpdates, compactAfterBytes } = this.options;
    if (this.closed || this.compacting || (this.tail.length < compactAfterUpdates && this.tailBytes < compactAfterBytes)) return;
    this.compacting = true;
    this.options.store
      .compact(this.docId)
      .then((snapshot) => {
        if (!snapshot || this.closed) return;
        if (!this.base || snapshot.seq > this.base.seq) {
          this.base = snapshot;
          this.tail = this.tail.filter((u) => u.seq > snapshot.seq);
          this.tailBytes = this.tail.reduce((n, u) => n + u.bytes.length, 0);
        }
        this.options.log.debug('doc.compacted', { docId: this.docId, seq: snapshot.seq, bytes: snapshot.bytes.length });
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
    this.options.onBroken(this);
  }

  private notifyIfIdle(): void {
    if (!this.closed && this.isIdle) this.options.onIdle(this);
  }

  /** Resolves once nothing is queued or being written; retries immediately if backing off. */
  async flush(): Promise<void> {
    while (this.hasPendingWrites && !this.closed) {
      if (this.retryTimer) {
        // Do not wait out the backoff when asked to flush: try now.
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      if (!this.writing) this.kick();
      await this.writing;
    }
  }

  /** Frees the room. Queued writes that never committed are rejected (never acknowledged). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const w of this.queue.splice(0)) w.reject(new CommitError('storage_failed'));
    this.members.clear();
    this.doc.free();
  }
}

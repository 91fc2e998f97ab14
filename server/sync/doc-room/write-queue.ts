/**
 * The durable write path of one room (group commit): accepted updates wait here and are
 * written, with every other update queued meanwhile, as one log entry in one transaction; the
 * submitters' promises settle after COMMIT, and only then may they be acknowledged. While the
 * database is unreachable the batch is retried with backoff and nothing is acknowledged.
 *
 * An entry holds the commit's new ops as one Loro update, exported from the oplog by span,
 * not the many small updates they arrived in: a keystroke's update carries ~80 bytes of
 * envelope, and importing thousands of tiny updates is what makes a document slow to load.
 */
import { mergeSpans, type OpSpan } from '../../../shared/op-spans';
import type { Logger } from '../../logger';
import type { LogEntrySource } from '../log-writer';
import { DocumentGoneError, isTransientDatabaseError, type PeerAttribution } from '../doc-store';

/** Why an accepted update could not be stored. */
export type CommitFailure = 'document_gone' | 'storage_failed';

export class CommitError extends Error {
  override readonly name = 'CommitError';
  constructor(readonly reason: CommitFailure) {
    super(reason);
  }
}

/** One submit's share of a commit. */
export interface QueuedWrite {
  /** The updates as the member sent them (what other contributors to a commit are relayed). */
  updates: Uint8Array[];
  /** The ops they brought that the room did not have. */
  spans: OpSpan[];
  /**
   * Updates stored as sent, not merged by span: ones with ops still waiting for their
   * dependencies, and duplicates whose ops may be in memory only (see `DocRoom.submit`).
   */
  asSent: Uint8Array[];
  /** Who sent the peer ids these updates bring that the room had not seen (stored with them). */
  peers: PeerAttribution[];
}

interface Waiter extends QueuedWrite {
  resolve: () => void;
  reject: (error: CommitError) => void;
}

export interface WriteQueueOptions {
  docId: string;
  log: Logger;
  /**
   * Appends one log entry (and who sent its new peer ids), made by `source.take()` when its
   * commit starts; resolves with its seq once committed, null when the entry was empty.
   */
  append: (source: LogEntrySource) => Promise<number | null>;
  /** More updates were queued while an entry waits for its commit to start. */
  grew: () => void;
  /** One update with exactly the ops of `spans` (from the room's oplog). */
  exportSpans: (spans: readonly OpSpan[]) => Uint8Array;
  /** An entry was committed (before the submitters hear of it). */
  onStored: (seq: number, updates: Uint8Array[]) => void;
  /** A batch's submitters were told it is durable: `updates` is how many they sent. */
  onBatchDone: (updates: number) => void;
  /** A write failed for good: the batch was rejected, and the room can no longer be trusted. */
  onFailed: (reason: CommitFailure) => void;
  /** Nothing is being written any more (the room may be idle). */
  onSettled: () => void;
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

const sizeOf = (updates: readonly Uint8Array[]): number => updates.reduce((n, u) => n + u.length, 0);
const updateCount = (writes: readonly QueuedWrite[]): number => writes.reduce((n, w) => n + w.updates.length, 0);

export class WriteQueue {
  private queue: Waiter[] = [];
  /** The batch being written (taken out of `queue`, not yet committed). */
  private inFlight: Waiter[] = [];
  private writing: Promise<void> | null = null;
  private retryDelay = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Resolves when the pending retry starts (while backing off). */
  private retryStarted: Promise<void> | null = null;
  private closed = false;
  /** Bytes of the accepted updates not yet committed (kept as a count: read on every submit). */
  private unstoredByteCount = 0;
  /** An entry was asked for and its commit has not started: updates queued now still go in it. */
  private awaitingTurn = false;

  constructor(private readonly options: WriteQueueOptions) {}

  /**
   * Queues a submit's updates; resolves once they are durable, rejects with CommitError.
   * A duplicate still takes its place: it may repeat an update that is queued but not yet
   * committed, and its Ack must not overtake that commit.
   */
  enqueue(write: QueuedWrite): Promise<void> {
    const bytes = sizeOf(write.updates);
    this.unstoredByteCount += bytes;
    return new Promise<void>((resolve, reject) => {
      let counted = true;
      const settled = (): void => {
        if (counted) this.unstoredByteCount -= bytes;
        counted = false;
      };
      this.queue.push({
        ...write,
        resolve: () => {
          settled();
          resolve();
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      });
      this.kick();
    });
  }

  /** Bytes of the accepted updates not yet committed. */
  get unstoredBytes(): number {
    return this.unstoredByteCount;
  }

  /** True while updates are queued or being written. */
  get hasPending(): boolean {
    return this.queue.length > 0 || this.writing !== null;
  }

  /** The accepted updates not yet committed: the batch in flight, then the queue. */
  unstored(): Uint8Array[] {
    return [...this.inFlight.flatMap((w) => w.updates), ...this.queue.flatMap((w) => w.updates)];
  }

  unstoredCount(): number {
    return updateCount(this.inFlight) + updateCount(this.queue);
  }

  /** Resolves once nothing is queued or being written (the caller bounds how long it waits). */
  async flush(): Promise<void> {
    while (this.hasPending && !this.closed) {
      // While backing off, wait for the retry: hammering a database that is down helps nobody.
      if (this.writing) await this.writing;
      else if (this.retryStarted) await this.retryStarted;
      else this.kick();
    }
  }

  /** Stops writing. Queued writes that never committed are rejected (never acknowledged). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const w of this.queue.splice(0)) w.reject(new CommitError('storage_failed'));
  }

  private kick(): void {
    if (this.writing && this.awaitingTurn) this.options.grew();
    if (this.writing || this.retryTimer || this.closed) return;
    this.writing = this.writeQueued().finally(() => {
      this.writing = null;
      if (this.queue.length > 0 && !this.retryTimer) this.kick();
      else this.options.onSettled();
    });
  }

  /**
   * Writes what is queued (up to the per-commit bounds) as one log entry, in one transaction.
   * The batch is taken when the log writer starts the commit, not now.
   */
  private async writeQueued(): Promise<void> {
    let batch: Waiter[] = [];
    let entry: Uint8Array[] = [];
    const source: LogEntrySource = {
      waiting: () => Math.min(updateCount(this.queue), MAX_SUBMITS_PER_COMMIT),
      take: () => {
        this.awaitingTurn = false;
        batch = this.takeBatch();
        this.inFlight = batch;
        entry = this.logEntryOf(batch);
        return { updates: entry, peers: batch.flatMap((w) => w.peers) };
      },
    };
    this.awaitingTurn = true;
    try {
      await this.writeBatch(source, () => ({ batch, entry }));
    } finally {
      this.awaitingTurn = false;
      this.inFlight = [];
    }
  }

  /** The queued writes for one commit (up to the per-commit bounds), out of the queue. */
  private takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let bytes = 0;
    for (const next of this.queue) {
      const size = sizeOf(next.updates);
      if (batch.length > 0 && (batch.length >= MAX_SUBMITS_PER_COMMIT || bytes + size > MAX_BYTES_PER_COMMIT)) break;
      batch.push(next);
      bytes += size;
    }
    this.queue.splice(0, batch.length);
    return batch;
  }

  private async writeBatch(source: LogEntrySource, taken: () => { batch: Waiter[]; entry: Uint8Array[] }): Promise<void> {
    const { docId, log } = this.options;
    let seq: number | null;
    try {
      seq = await this.options.append(source);
    } catch (error) {
      const { batch } = taken();
      if (this.closed) {
        for (const w of batch) w.reject(new CommitError('storage_failed'));
        return;
      }
      if (isTransientDatabaseError(error)) {
        // Put the batch back in front and try again later; nothing is acknowledged meanwhile.
        this.queue.unshift(...batch);
        log.warn('doc.write_retry', { docId, updates: updateCount(batch), inMs: this.retryDelay, error });
        this.scheduleRetry();
        return;
      }
      const reason: CommitFailure = error instanceof DocumentGoneError ? 'document_gone' : 'storage_failed';
      log.error('doc.write_failed', { docId, updates: updateCount(batch), error });
      for (const w of batch) w.reject(new CommitError(reason));
      this.options.onFailed(reason);
      return;
    }
    const { batch, entry } = taken();
    this.retryDelay = RETRY_MIN_MS;
    if (seq !== null) this.options.onStored(seq, entry);
    for (const w of batch) w.resolve();
    this.options.onBatchDone(updateCount(batch));
  }

  private scheduleRetry(): void {
    let started!: () => void;
    this.retryStarted = new Promise((resolve) => (started = resolve));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryStarted = null;
      this.kick();
      started();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  /**
   * What a commit stores. A lone update is stored as it came (re-exporting a keystroke from the
   * oplog cost more than the rest of its commit); several are merged into one update by span,
   * so that a log of thousands of keystrokes does not load as thousands of imports, and the
   * log's update count (which triggers compaction) grows by one per commit.
   */
  private logEntryOf(batch: readonly QueuedWrite[]): Uint8Array[] {
    if (updateCount(batch) <= MERGE_ABOVE_UPDATES) return batch.flatMap((w) => w.updates);
    const spans = mergeSpans(batch.flatMap((w) => w.spans));
    return [...(spans.length > 0 ? [this.options.exportSpans(spans)] : []), ...batch.flatMap((w) => w.asSent)];
  }
}

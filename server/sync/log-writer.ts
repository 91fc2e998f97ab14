/**
 * Appends log entries to the database, several documents per commit.
 *
 * Each room has at most one append in flight, but a node hosts many rooms: committing each
 * room's entry on its own costs a statement, a round trip and a WAL flush per keystroke per
 * document, which was the largest cost of the server and of Postgres. So appends that arrive
 * while a group is being written wait, and are written together as the next group, in one
 * statement (`appendLogEntries`). Works the same on embedded Postgres (one connection) and a pool.
 *
 * When the next group starts: as soon as the previous one is done if what waits holds at
 * least `startAtOnce` updates (a commit that carries that many costs Postgres little per
 * update); otherwise once `minIntervalMs` (5 ms) has passed since the last group started, so
 * that typists on many documents share commits instead of each keystroke paying for one. An
 * append to a quiet node is written at once. A room's entry is taken when its group starts,
 * not when it asks (`LogEntrySource`): updates that reach the room while it waits for its
 * turn go in the same commit. The cost, only under load: up to 5 ms after the previous commit
 * on an acknowledgement, and on an edit's way to another node's sockets where it waits for the
 * commit (Postgres bus); sockets on this node get edits on import, without waiting. Figures:
 * bench-results/README.md, "The log writer".
 */
import type { Kysely } from 'kysely';
import { DocumentGoneError, appendLogEntries, type PeerAttribution } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';

/** One log entry to write: its updates, and who sent the peer ids new to the room. */
export interface NewLogEntry {
  updates: readonly Uint8Array[];
  peers?: readonly PeerAttribution[] | undefined;
}

/** A room's next log entry, made when its group starts. */
export interface LogEntrySource {
  /** How many updates the entry would hold if taken now. */
  waiting(): number;
  /** The entry to write (called once, as the group starts); no updates when there is nothing to write. */
  take(): NewLogEntry;
}

export interface LogWriter {
  /** Writes the source's entry in the next group; resolves with its seq once committed, null when it had nothing to write. */
  append(docId: string, source: LogEntrySource): Promise<number | null>;
  /** A waiting source has more updates: the next group may be worth starting now. */
  grew(): void;
}

/** A fixed entry as a source (tests, tools). */
export function entryOf(updates: readonly Uint8Array[], peers?: readonly PeerAttribution[]): LogEntrySource {
  return { waiting: () => updates.length, take: () => ({ updates, peers }) };
}

interface PendingAppend {
  docId: string;
  source: LogEntrySource;
  resolve: (seq: number | null) => void;
  reject: (error: unknown) => void;
}

interface TakenAppend extends PendingAppend, NewLogEntry {
  bytes: number;
}

/** A group stops growing past this many bytes (the rest goes in the next group). */
const MAX_GROUP_BYTES = 32 * 1024 * 1024;

export interface GroupLogWriterOptions {
  /** Least time between the starts of two groups, unless `startAtOnce` updates wait (default 5 ms). */
  minIntervalMs?: number;
  /** Updates waiting that start the next group as soon as the previous one is done (default 32). */
  startAtOnce?: number;
}

export class GroupLogWriter implements LogWriter {
  private pending: PendingAppend[] = [];
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private checkQueued = false;
  private lastEndedAt = -Infinity;
  private readonly minIntervalMs: number;
  private readonly startAtOnce: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: GroupLogWriterOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 5;
    this.startAtOnce = options.startAtOnce ?? 32;
  }

  append(docId: string, source: LogEntrySource): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.pending.push({ docId, source, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Looked at once the updates being read now are all in (updates come in bursts, one socket
   * read holding many): deciding on the first of a burst would start a group without the rest.
   */
  grew(): void {
    if (this.checkQueued || this.writing || this.pending.length === 0) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      this.schedule();
    });
  }

  /** Writes the next group now, or once `minIntervalMs` has passed since the last one started. */
  private schedule(): void {
    if (this.writing || this.pending.length === 0) return;
    const wait = this.lastEndedAt + this.minIntervalMs - performance.now();
    if (wait <= 0 || this.waitingUpdates() >= this.startAtOnce) {
      void this.writeNext();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.schedule();
    }, wait);
  }

  private waitingUpdates(): number {
    let n = 0;
    for (const p of this.pending) n += p.source.waiting();
    return n;
  }

  private async writeNext(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writing = true;
    const group = this.takeGroup();
    try {
      if (group.length === 0) return;
      const seqs = await appendLogEntries(this.db, group);
      group.forEach((p, i) => {
        const seq = seqs[i];
        if (seq === null || seq === undefined) p.reject(new DocumentGoneError(p.docId));
        else p.resolve(seq);
      });
    } catch (error) {
      // The statement is atomic: nothing of the group was stored; each room retries its own.
      for (const p of group) p.reject(error);
    } finally {
      this.writing = false;
      this.lastEndedAt = performance.now();
      this.schedule();
    }
  }

  /**
   * The next group: one entry per document (a second one waits its turn), bounded in bytes.
   * Entries are taken here; a source with nothing to write is answered at once.
   */
  private takeGroup(): TakenAppend[] {
    const group: TakenAppend[] = [];
    const rest: PendingAppend[] = [];
    const docs = new Set<string>();
    let bytes = 0;
    for (const p of this.pending) {
      if (docs.has(p.docId) || (group.length > 0 && bytes >= MAX_GROUP_BYTES)) {
        rest.push(p);
        continue;
      }
      let entry: NewLogEntry;
      try {
        entry = p.source.take();
      } catch (error) {
        p.reject(error);
        continue;
      }
      if (entry.updates.length === 0) {
        p.resolve(null);
        continue;
      }
      const size = entry.updates.reduce((n, u) => n + u.length, 0);
      group.push({ ...p, updates: entry.updates, peers: entry.peers, bytes: size });
      docs.add(p.docId);
      bytes += size;
    }
    this.pending = rest;
    return group;
  }
}

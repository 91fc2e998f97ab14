/**
 * Appends log entries to the database, several documents per commit.
 *
 * Each room has at most one append in flight, but a node hosts many rooms: committing each
 * room's entry on its own costs a statement, a round trip and a WAL flush per keystroke per
 * document (at 500 updates/s over 25 documents that was the server's largest cost, and
 * Postgres's). So appends that arrive while a group is being written wait, and are written
 * together as the next group, in one statement (`appendLogEntries`). Works the same on
 * embedded Postgres (one connection) and a pool.
 *
 * Groups also start at least `minIntervalMs` apart (5 ms): an append that arrives when the
 * last group started longer ago than that (a quiet node, one typist) is written at once, and
 * under load appends gather until the interval is up, so a node commits at most ~200 times a
 * second however fast its commits return. Without it, commits on this machine returned in
 * ~0.3 ms and groups stayed at 1.3 entries at 500 updates/s: ~400 commits a second, and
 * Postgres used as much CPU as the node. The cost, only under load: at most 5 ms on an
 * acknowledgement, and on an edit's way to another node's sockets where it waits for the
 * commit (Postgres bus); sockets on this node get edits on import, without waiting.
 */
import type { Kysely } from 'kysely';
import { DocumentGoneError, appendLogEntries } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';

export interface LogWriter {
  /** Appends one entry; resolves with its sequence number once committed. */
  append(docId: string, updates: readonly Uint8Array[]): Promise<number>;
}

interface PendingAppend {
  docId: string;
  updates: readonly Uint8Array[];
  bytes: number;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

/** A group stops growing past this many bytes (the rest goes in the next group). */
const MAX_GROUP_BYTES = 32 * 1024 * 1024;

export class GroupLogWriter implements LogWriter {
  private pending: PendingAppend[] = [];
  private writing = false;
  private waiting: NodeJS.Timeout | null = null;
  private lastStartedAt = -Infinity;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly minIntervalMs = 5,
  ) {}

  append(docId: string, updates: readonly Uint8Array[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const bytes = updates.reduce((n, u) => n + u.length, 0);
      this.pending.push({ docId, updates, bytes, resolve, reject });
      this.schedule();
    });
  }

  /** Writes the next group now, or once `minIntervalMs` has passed since the last one started. */
  private schedule(): void {
    if (this.writing || this.waiting || this.pending.length === 0) return;
    const wait = this.lastStartedAt + this.minIntervalMs - performance.now();
    if (wait <= 0) {
      void this.writeNext();
      return;
    }
    this.waiting = setTimeout(() => {
      this.waiting = null;
      void this.writeNext();
    }, wait);
  }

  private async writeNext(): Promise<void> {
    this.writing = true;
    this.lastStartedAt = performance.now();
    const group = this.takeGroup();
    try {
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
      this.schedule();
    }
  }

  /** The next group: one entry per document (a second one waits its turn), bounded in bytes. */
  private takeGroup(): PendingAppend[] {
    const group: PendingAppend[] = [];
    const rest: PendingAppend[] = [];
    const docs = new Set<string>();
    let bytes = 0;
    for (const p of this.pending) {
      if (docs.has(p.docId) || (group.length > 0 && bytes + p.bytes > MAX_GROUP_BYTES)) rest.push(p);
      else {
        group.push(p);
        docs.add(p.docId);
        bytes += p.bytes;
      }
    }
    this.pending = rest;
    return group;
  }
}

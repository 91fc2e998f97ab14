/**
 * Durable storage of documents for the sync rooms: load (snapshot + log), append (one
 * transaction per group of updates), compact (snapshot in a worker thread, under a lease).
 */
import type { Kysely } from 'kysely';
import {
  DocumentGoneError,
  loadStoredDocument,
  readStoredSince,
  releaseCompaction,
  replaceSnapshot,
  tryLeaseCompaction,
  type LogEntry,
  type Snapshot,
  type StoredDocument,
} from '../../db/repositories/doc-log';
import { EMBEDDED_STOPPED, EmbeddedDatabaseError } from '../../db/pglite-client';
import type { Database } from '../../db/schema';
import type { Compactor } from './compactor';
import type { LogWriter } from './log-writer';

export { DocumentGoneError, type LogEntry, type Snapshot, type StoredDocument };

/** A compaction lease outlives the slowest snapshot we expect by a wide margin. */
const COMPACTION_LEASE_MS = 60_000;

export class DocStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly writer: LogWriter,
    private readonly compactor: Compactor,
  ) {}

  /** What was stored after `afterSeq`: the log past it, and the snapshot if one covers more. */
  readSince(docId: string, afterSeq: number): Promise<{ snapshot: Snapshot | null; log: LogEntry[] }> {
    return readStoredSince(this.db, docId, afterSeq);
  }

  /** Snapshot + log tail. Throws `DocumentGoneError` for unknown or deleted documents. */
  load(docId: string): Promise<StoredDocument> {
    return loadStoredDocument(this.db, docId);
  }

  /** Appends updates as one log entry; resolves with its sequence number once committed. */
  append(docId: string, updates: readonly Uint8Array[]): Promise<number> {
    return this.writer.append(docId, updates);
  }

  /**
   * Folds the log into a new snapshot, reading everything from the database (not from a
   * node's memory, which may lag behind other nodes' commits). Returns the snapshot and the
   * sequence number it covers, or null when another node holds the lease or has already
   * stored a newer one.
   */
  async compact(docId: string): Promise<Snapshot | null> {
    if (!(await tryLeaseCompaction(this.db, docId, COMPACTION_LEASE_MS))) return null;
    try {
      const stored = await loadStoredDocument(this.db, docId);
      const last = stored.log.at(-1);
      if (!last) return null;
      const { snapshot, pending } = await this.compactor.snapshot(documentParts(stored));
      const compacted: Snapshot = { seq: last.seq, bytes: snapshot, pending };
      return (await replaceSnapshot(this.db, docId, compacted)) ? compacted : null;
    } finally {
      await releaseCompaction(this.db, docId);
    }
  }
}

/** Everything stored of a document, in import order: snapshot, its pending sidecar, the log. */
export function documentParts(stored: StoredDocument): Uint8Array[] {
  const { snapshot } = stored;
  return [...(snapshot ? [snapshot.bytes] : []), ...(snapshot?.pending ? [snapshot.pending] : []), ...stored.log.flatMap((e) => e.updates)];
}

/**
 * True when a database error is worth retrying (connection lost, Postgres restarting or
 * overloaded, serialisation conflicts); false for errors that will recur (bad data, schema).
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (error instanceof DocumentGoneError) return false;
  // Embedded Postgres that stopped does not come back by itself.
  if (error instanceof EmbeddedDatabaseError && error.code === EMBEDDED_STOPPED) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (/^(08|53|57P)/.test(code)) return true; // connection, resources, operator intervention
    if (code === '40001' || code === '40P01') return true; // serialization failure, deadlock
    if (/^[0-9A-Z]{5}$/.test(code)) return false; // any other SQLSTATE: the statement itself failed
    return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE…
  }
  // pg's "Connection terminated unexpectedly", pool timeouts: no code, all transient.
  return true;
}

/**
 * Durable storage of documents for the sync rooms: load (snapshot + log), append (one
 * transaction per group of updates), compact (snapshot in a worker thread, under a lease).
 */
import type { Kysely, Transaction } from 'kysely';
import {
  DocumentGoneError,
  documentParts,
  loadStoredDocument,
  readStoredSince,
  releaseCompaction,
  replaceSnapshot,
  tryLeaseCompaction,
  type LogEntry,
  type PeerAttribution,
  type Snapshot,
  type StoredDocument,
} from '../../db/repositories/doc-log';
import { EMBEDDED_STOPPED, EmbeddedDatabaseError } from '../../db/pglite-client';
import type { Database } from '../../db/schema';
import { storeVersions, trimPoint, trimVersions } from '../history/version-index';
import type { Compactor } from './compactor';
import type { LogEntrySource, LogWriter } from './log-writer';

export { DocumentGoneError, type LogEntry, type PeerAttribution, type Snapshot, type StoredDocument };

const DAY_MS = 24 * 3600 * 1000;

/** A compaction lease outlives the slowest snapshot we expect by a wide margin. */
const COMPACTION_LEASE_MS = 60_000;

export class DocStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly writer: LogWriter,
    private readonly compactor: Compactor,
    /** `historyDays`: version history older than this is folded into a shallow snapshot (null: kept). */
    private readonly options: { historyDays?: number | null } = {},
  ) {}

  /** What was stored after `afterSeq`: the log past it, and the snapshot if one covers more. */
  readSince(docId: string, afterSeq: number): Promise<{ snapshot: Snapshot | null; log: LogEntry[] }> {
    return readStoredSince(this.db, docId, afterSeq);
  }

  /** Snapshot + log tail. Throws `DocumentGoneError` for unknown or deleted documents. */
  load(docId: string): Promise<StoredDocument> {
    return loadStoredDocument(this.db, docId);
  }

  /** Appends the source's entry and who sent its new peer ids (taken when its commit starts); resolves with its sequence number once committed, null when empty. */
  append(docId: string, source: LogEntrySource): Promise<number | null> {
    return this.writer.append(docId, source);
  }

  /** A source waiting for its commit has more updates (see `LogWriter.grew`). */
  grew(): void {
    this.writer.grew();
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
      const trim = this.options.historyDays ? await trimPoint(this.db, docId, stored.log, Date.now() - this.options.historyDays * DAY_MS) : null;
      const { snapshot, pending, textBytes } = await this.compactor.snapshot(documentParts(stored), trim?.version);
      const compacted: Snapshot = { seq: last.seq, bytes: snapshot, pending, textBytes };
      // The entries' commit times go with them: their versions are stored first.
      const keepHistory = async (trx: Transaction<Database>): Promise<void> => {
        await storeVersions(trx, docId, stored.log, last.seq);
        if (trim) await trimVersions(trx, docId, trim);
      };
      return (await replaceSnapshot(this.db, docId, compacted, keepHistory)) ? compacted : null;
    } finally {
      await releaseCompaction(this.db, docId);
    }
  }
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

/**
 * When a room's stored log grows past the thresholds, fold it into a snapshot (in the
 * compaction worker, under the database's per-document lease: see `DocStore.compact`) and
 * forget the entries it covers. One compaction at a time per room; a failure is logged and the
 * next commit tries again.
 */
import type { Logger } from '../../logger';
import type { DocStore } from '../doc-store';
import type { StoredLog } from './stored-log';

export interface RoomCompactionOptions {
  docId: string;
  store: DocStore;
  log: Logger;
  stored: StoredLog;
  compactAfterUpdates: number;
  compactAfterBytes: number;
  /** A compaction ended (the room may be idle). */
  onSettled: () => void;
}

export class RoomCompaction {
  private compacting = false;
  private closed = false;
  /** `compactNow` was asked while one ran: it must cover what came after that one started. */
  private again = false;

  constructor(private readonly options: RoomCompactionOptions) {}

  get busy(): boolean {
    return this.compacting;
  }

  /** Starts a compaction when the log is past a threshold and none is running. */
  maybeCompact(): void {
    const { compactAfterUpdates, compactAfterBytes, stored } = this.options;
    if (stored.tailUpdates < compactAfterUpdates && stored.tailBytes < compactAfterBytes) return;
    this.compactNow();
  }

  /**
   * Starts a compaction now if there is a log to fold and none is running: also what measures
   * the document's text exactly (see `StoredLog.textBytesBound`).
   */
  compactNow(): void {
    const { stored, store, log, docId } = this.options;
    if (this.compacting) this.again = true;
    if (this.closed || this.compacting || stored.tailUpdates === 0) return;
    this.compacting = true;
    const started = performance.now();
    store
      .compact(docId)
      .then((snapshot) => {
        if (!snapshot || this.closed) return;
        stored.adoptSnapshot(snapshot);
        log.debug('doc.compacted', {
          docId,
          seq: snapshot.seq,
          bytes: snapshot.bytes.length,
          ms: Math.round(performance.now() - started),
          tailUpdates: stored.tailUpdates,
        });
      })
      .catch((error: unknown) => log.warn('doc.compaction_failed', { docId, error }))
      .finally(() => {
        this.compacting = false;
        if (this.again) {
          this.again = false;
          this.compactNow();
        }
        this.options.onSettled();
      });
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * A loaded document's Loro oplog, and what every import means for the joiners that come later.
 *
 * The LoroDoc is *detached*: imports go to the oplog only and the text state is never
 * materialised. The server never reads the text, and materialising it is what makes the first
 * edit after loading a large snapshot slow (see bench-results/README.md).
 *
 * Every import goes through this class, so that two things stay true of it:
 * - Updates whose ops wait here for dependencies (rare) are not in an export of the oplog:
 *   they are kept as they are (`waiting`, at most WAITING_KEPT) and go to joiners as such.
 *   When their dependencies arrive they complete without a relay of their own.
 * - The oplog exported as one update for joiners with nothing (`whole`) is reused with the
 *   updates imported after it, until that tail gets long.
 */
import { LoroDoc, decodeImportBlobMeta, type ImportStatus, type VersionVector } from 'loro-crdt';
import { exportSpans, type OpSpan } from '../../../shared/op-spans';
import type { Snapshot, StoredDocument } from '../doc-store';

/** Updates imported after the whole-document export before it is made again. */
export const WHOLE_EXPORT_TAIL = 8;

/** Updates waiting for dependencies kept for joiners. */
const WAITING_KEPT = 1_000;

/** Log entries imported between yields while loading. */
const LOAD_CHUNK = 100;

/** True when an import left ops waiting for dependencies. */
export const hasPending = (status: ImportStatus): boolean => (status.pending?.size ?? 0) > 0;

/**
 * Whether an import added ops (or left some waiting for dependencies). One that did not was a
 * duplicate: every op it holds reached this room's members when it was first imported, or was
 * in their join answer.
 */
export const broughtSomething = (status: ImportStatus): boolean => status.success.size > 0 || hasPending(status);

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class RoomOplog {
  private readonly doc: LoroDoc;
  /** The oplog exported as one update for joiners with nothing, and the updates imported since. */
  private whole: { bytes: Uint8Array; since: Uint8Array[] } | null = null;
  /** Some import left ops waiting for dependencies: joiners then get stored bytes. */
  private pendingSeen = false;
  private readonly waiting = new Set<Uint8Array>();

  private constructor(doc: LoroDoc) {
    this.doc = doc;
  }

  /**
   * Imports a stored document (snapshot, then its pending part and log). The imports yield to
   * the event loop between chunks, so loading a large document does not hold up the other
   * rooms for its whole duration.
   */
  static async load(stored: StoredDocument): Promise<RoomOplog> {
    const doc = new LoroDoc();
    /** Chunks that left ops waiting for dependencies: their updates are kept for joiners. */
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
    const oplog = new RoomOplog(doc);
    oplog.pendingSeen = waiting.length > 0;
    for (const u of waiting) oplog.keepWaiting(u);
    return oplog;
  }

  /** Imports one update (throws when Loro refuses it). */
  import(update: Uint8Array): ImportStatus {
    const status = this.doc.import(update);
    this.imported(status, [update]);
    return status;
  }

  /** Imports the updates of one log entry (throws when Loro refuses them). */
  importBatch(updates: Uint8Array[]): ImportStatus {
    const status = this.doc.importBatch(updates);
    this.imported(status, updates);
    return status;
  }

  /**
   * Imports a snapshot another node stored past what this node has read; returns what it
   * brought, to relay: the new ops as one update, and its pending part when that still waits
   * (what waits for dependencies is not in the export).
   */
  importSnapshot(snapshot: Snapshot): Uint8Array[] {
    const before = this.doc.oplogVersion();
    this.doc.import(snapshot.bytes);
    const diff = this.doc.export({ mode: 'update', from: before });
    before.free();
    this.imported(null, [diff]);
    const brought = [diff];
    if (snapshot.pending) {
      const status = this.import(snapshot.pending);
      if (hasPending(status)) brought.push(snapshot.pending);
    }
    return brought;
  }

  /** One update with exactly the ops of `spans`. */
  exportSpans(spans: readonly OpSpan[]): Uint8Array {
    return exportSpans(this.doc, spans);
  }

  /** The oplog's version vector; the caller frees it. */
  version(): VersionVector {
    return this.doc.oplogVersion();
  }

  /** What the oplog has beyond `from`, as one update. */
  exportFrom(from: VersionVector): Uint8Array {
    return this.doc.export({ mode: 'update', from });
  }

  /** Ops in the oplog (the sum of its version vector). */
  opCount(): number {
    const version = this.doc.oplogVersion();
    try {
      let ops = 0;
      for (const counter of version.toJSON().values()) ops += counter;
      return ops;
    } finally {
      version.free();
    }
  }

  /** True once some import left ops waiting for dependencies: an export may then lack them. */
  get mayHavePending(): boolean {
    return this.pendingSeen;
  }

  /** Loaded from a shallow snapshot (history trimmed): its export lacks what the root depends on. */
  get isShallow(): boolean {
    return this.doc.isShallow();
  }

  get hasWaiting(): boolean {
    return this.waiting.size > 0;
  }

  /**
   * The whole oplog as one update and the updates imported after it, made once and shared by
   * every joiner with nothing until the tail gets long. Null past `maxOps` ops: the export
   * holds the event loop for ~60 ns an op.
   */
  wholeExport(maxOps: number): Uint8Array[] | null {
    if (!this.whole) {
      if (this.opCount() > maxOps) return null;
      this.whole = { bytes: this.doc.export({ mode: 'update' }), since: [] };
    }
    return [this.whole.bytes, ...this.whole.since];
  }

  /**
   * The waiting updates whose ops still wait; the others, complete now (and in the oplog's
   * export), are dropped. Checked against the oplog's version, not by importing them again:
   * Loro would keep another copy of every change still waiting.
   */
  stillWaiting(): Uint8Array[] {
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

  free(): void {
    this.doc.free();
  }

  /** Keeps an update whose ops wait for dependencies, making room by dropping completed ones. */
  private keepWaiting(update: Uint8Array): void {
    if (this.waiting.size >= WAITING_KEPT) this.stillWaiting();
    if (this.waiting.size < WAITING_KEPT) this.waiting.add(update);
  }

  /**
   * Notes an import: the whole-document export grows a tail (or is dropped when the tail gets
   * long), and an update waiting for its dependencies is kept for joiners.
   */
  private imported(status: ImportStatus | null, updates: readonly Uint8Array[]): void {
    if (status && hasPending(status)) {
      this.pendingSeen = true;
      for (const u of updates) this.keepWaiting(u);
    }
    if (!this.whole) return;
    this.whole.since.push(...updates);
    if (this.whole.since.length > WHOLE_EXPORT_TAIL) this.whole = null;
  }
}

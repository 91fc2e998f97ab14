/**
 * What this node knows of a document's stored log: the latest snapshot it has seen, the
 * committed entries after it, and how far the gap-free per-document sequence is in memory.
 *
 * Entries come from two places: this room's own commits and other nodes' (read from the log
 * or carried by their doorbells). An own commit can get a seq past a gap (another node
 * committed in between): it waits in `ownAhead` until the entries before it have been read,
 * so `appliedSeq` only ever moves over entries that are in memory.
 */
import { documentParts } from '../../../db/repositories/doc-log';
import type { LogEntry, Snapshot } from '../doc-store';

const sizeOf = (updates: readonly Uint8Array[]): number => updates.reduce((n, u) => n + u.length, 0);

export class StoredLog {
  private base: Snapshot | null;
  private tail: LogEntry[];
  private tailUpdateCount = 0;
  private tailByteCount = 0;
  /** Every log entry up to this seq is in memory (own commits and other nodes'). */
  private applied: number;
  /** Own commits past a gap: entries other nodes committed in between are not read yet. */
  private readonly ownAhead = new Set<number>();

  constructor(base: Snapshot | null, tail: LogEntry[], headSeq: number) {
    this.base = base;
    this.tail = tail;
    for (const entry of tail) this.count(entry, 1);
    this.applied = headSeq;
  }

  /** Every log entry up to this seq is in this node's memory. */
  get appliedSeq(): number {
    return this.applied;
  }

  get hasSnapshot(): boolean {
    return this.base !== null;
  }

  /** Updates in the entries after the snapshot (what compaction would fold). */
  get tailUpdates(): number {
    return this.tailUpdateCount;
  }

  get tailBytes(): number {
    return this.tailByteCount;
  }

  /** Bytes of the snapshot (with its pending part). */
  get snapshotBytes(): number {
    return (this.base?.bytes.length ?? 0) + (this.base?.pending?.length ?? 0);
  }

  /**
   * An upper bound of the document's text in UTF-8 bytes: the text measured at the snapshot,
   * plus the entries after it (an update inserts at most its own size in text: strings travel
   * uncompressed). A snapshot made before text was measured counts its own size instead.
   */
  get textBytesBound(): number {
    return (this.base ? (this.base.textBytes ?? this.base.bytes.length) : 0) + this.tailByteCount;
  }

  stats(): { snapshotBytes: number; tailEntries: number; tailUpdates: number; tailBytes: number; appliedSeq: number } {
    return {
      snapshotBytes: this.base?.bytes.length ?? 0,
      tailEntries: this.tail.length,
      tailUpdates: this.tailUpdateCount,
      tailBytes: this.tailByteCount,
      appliedSeq: this.applied,
    };
  }

  /** The snapshot, its pending part and the entries after it, in import order. */
  bytes(): Uint8Array[] {
    return documentParts({ snapshot: this.base, log: this.tail, headSeq: this.applied });
  }

  /**
   * This room committed `entry`. Returns false when it landed past a gap: the entries other
   * nodes committed in between must be read (the caller starts a catch-up).
   */
  committedOwn(entry: LogEntry): boolean {
    this.push(entry);
    if (entry.seq === this.applied + 1) {
      this.advanceTo(entry.seq);
      return true;
    }
    this.ownAhead.add(entry.seq);
    return false;
  }

  /** True when `seq` is an own commit that waits past a gap (it is in memory already). */
  isOwnAhead(seq: number): boolean {
    return this.ownAhead.has(seq);
  }

  /** Another node's entry is now in memory. */
  appliedOther(entry: LogEntry): void {
    this.push(entry);
    this.advanceTo(entry.seq);
  }

  /**
   * A snapshot up to `snapshot.seq` was stored (by this node's compaction or another's): it
   * replaces an older one and the entries it covers leave the tail.
   */
  adoptSnapshot(snapshot: Snapshot): void {
    if (this.base && snapshot.seq <= this.base.seq) return;
    this.base = snapshot;
    for (const entry of this.tail) if (entry.seq <= snapshot.seq) this.count(entry, -1);
    this.tail = this.tail.filter((e) => e.seq > snapshot.seq);
  }

  /** Everything up to `seq` is applied; absorbs own commits that were waiting past a gap. */
  advanceTo(seq: number): void {
    if (seq <= this.applied) return;
    this.applied = seq;
    for (const own of [...this.ownAhead]) if (own <= seq) this.ownAhead.delete(own);
    while (this.ownAhead.delete(this.applied + 1)) this.applied += 1;
  }

  private push(entry: LogEntry): void {
    this.tail.push(entry);
    this.count(entry, 1);
  }

  private count(entry: LogEntry, sign: 1 | -1): void {
    this.tailUpdateCount += sign * entry.updates.length;
    this.tailByteCount += sign * sizeOf(entry.updates);
  }
}

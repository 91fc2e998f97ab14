/**
 * A room's outbox: the local updates the server has not acknowledged as stored, in the order
 * they were made, saved to an `OutboxStore` so they survive a restart, and sent again after
 * every reconnect until acknowledged.
 *
 * Backlog merging: local commits made in this session are recorded with their op span, and a
 * run of consecutive ones in a batch is replaced, in the outbox too, by one update holding all
 * their ops. A backlog (typing faster than Acks come back, edits made offline) then costs the
 * server, the log and every other client one import instead of one per commit (figures in
 * bench-results/README.md).
 */
import type { LoroDoc } from 'loro-crdt';
import { importEach } from '../import-updates';
import { continues, exportSpans, opsEnd, type OpSpan } from '../op-spans';
import { BATCH_PAYLOAD_BYTES, newBatchId, packedSize, type BatchId } from '../protocol/index';

/** Keeps a room's unacknowledged updates; implement it over durable storage to survive restarts. */
export interface OutboxStore {
  load(docId: string): Promise<Uint8Array[]>;
  save(docId: string, updates: readonly Uint8Array[]): Promise<void>;
}

/** An outbox kept in memory only (lost with the page or process). */
export const memoryOutbox: OutboxStore = {
  load: async () => [],
  save: async () => {},
};

export interface OutboxOptions {
  docId: string;
  doc: LoroDoc;
  store: OutboxStore;
  /** Hears failures to save or to merge (the outbox goes on: nothing is dropped). */
  onError: (error: unknown) => void;
}

export class Outbox {
  /** Unacknowledged updates by local sequence number (insertion order = oldest first). */
  private readonly entries = new Map<number, Uint8Array>();
  /** The op spans of entries made by local commits in this session (see `mergeRuns`). */
  private readonly spans = new Map<number, OpSpan>();
  /** This session's peer and the end of its ops captured so far. */
  private localPeer: OpSpan['peer'] | null = null;
  private localEnd = 0;
  private nextSeq = 0;
  /** Entries not yet sent on the current socket: `unsent[unsentHead…]`. */
  private unsent: number[] = [];
  private unsentHead = 0;
  /** Batches sent on the current socket and not yet acknowledged: their entries. */
  private readonly inFlight = new Map<BatchId, number[]>();
  private saveScheduled = false;
  private saving: Promise<void> = Promise.resolve();
  /** The entry holding what the server lacked at the last join (see `replaceMissing`). */
  private missingSeq: number | null = null;

  constructor(private readonly options: OutboxOptions) {}

  /** Loads the saved outbox into the document and the outbox, and starts counting local ops. */
  async restore(): Promise<void> {
    const { doc, store, docId } = this.options;
    const saved = await store.load(docId);
    importEach(doc, saved);
    for (const update of saved) this.add(update);
    this.localPeer = doc.peerIdStr;
    this.localEnd = opsEnd(doc, doc.peerIdStr);
  }

  /** Number of updates the server has not acknowledged yet. */
  get size(): number {
    return this.entries.size;
  }

  /** Batches sent and not yet acknowledged. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Adds the update of a local commit. Called synchronously by each commit
   * (`subscribeLocalUpdates`), so its ops are this peer's since the previous one.
   */
  addLocalCommit(update: Uint8Array): void {
    const { doc } = this.options;
    const seq = this.add(update);
    const peer = doc.peerIdStr;
    const end = opsEnd(doc, peer);
    if (peer === this.localPeer && end > this.localEnd) this.spans.set(seq, { peer, start: this.localEnd, end });
    this.localPeer = peer;
    this.localEnd = end;
    this.save();
  }

  /** Adds an update made elsewhere (no span known: it is sent as it is). */
  addUpdate(update: Uint8Array): void {
    this.add(update);
    this.save();
  }

  /**
   * Replaces the entry holding what the server lacked at the previous join with `update` (or
   * just drops it): the new diff covers the old one, so reconnecting while the server is down
   * does not pile up copies.
   */
  replaceMissing(update: Uint8Array | null): void {
    if (this.missingSeq !== null) this.entries.delete(this.missingSeq);
    this.missingSeq = null;
    if (update === null) return;
    this.missingSeq = this.add(update);
    this.save();
  }

  /**
   * The next batch to send, as many unsent entries as fit one frame (runs of local commits
   * merged into one update each), now in flight under a fresh batch id; null when nothing is
   * unsent. Under load (or after an outage) batches grow instead of queueing.
   */
  takeBatch(): { id: BatchId; updates: Uint8Array[] } | null {
    const seqs: number[] = [];
    let bytes = 0;
    while (this.unsentHead < this.unsent.length) {
      const seq = this.unsent[this.unsentHead]!;
      const update = this.entries.get(seq);
      if (update === undefined) {
        this.unsentHead++; // acknowledged meanwhile
        continue;
      }
      if (seqs.length > 0 && bytes + packedSize(update) > BATCH_PAYLOAD_BYTES) break;
      seqs.push(seq);
      bytes += packedSize(update);
      this.unsentHead++;
    }
    if (this.unsentHead === this.unsent.length) {
      this.unsent = [];
      this.unsentHead = 0;
    }
    if (seqs.length === 0) return null;
    const sent = seqs.length > 1 ? this.mergeRuns(seqs) : seqs;
    const id = newBatchId();
    this.inFlight.set(id, sent);
    return { id, updates: sent.map((seq) => this.entries.get(seq)!) };
  }

  /** The server stored batch `id`: its entries leave the outbox. Returns them (null: unknown batch). */
  acknowledge(id: BatchId): Uint8Array[] | null {
    const seqs = this.inFlight.get(id);
    if (!seqs) return null;
    this.inFlight.delete(id);
    const dropped: Uint8Array[] = [];
    for (const seq of seqs) {
      const update = this.entries.get(seq);
      if (update !== undefined) dropped.push(update);
      this.entries.delete(seq);
      this.spans.delete(seq);
    }
    this.save();
    return dropped;
  }

  /** The server did not store batch `id`: its entries go again, after the unsent ones. False: unknown batch. */
  sendAgain(id: BatchId): boolean {
    const seqs = this.inFlight.get(id);
    if (!seqs) return false;
    this.inFlight.delete(id);
    this.unsent.push(...seqs);
    return true;
  }

  /** The socket dropped: whatever was in flight is void, and everything goes again. */
  socketLost(): void {
    this.inFlight.clear();
    this.unsent = [...this.entries.keys()];
    this.unsentHead = 0;
  }

  private add(update: Uint8Array): number {
    const seq = this.nextSeq++;
    this.entries.set(seq, update);
    this.unsent.push(seq);
    return seq;
  }

  /**
   * Saves the outbox once per task, however many changes the task made. Saves run one after
   * another, so an older outbox can never overwrite a newer one.
   */
  private save(): void {
    if (this.saveScheduled) return;
    this.saveScheduled = true;
    this.saving = this.saving.then(async () => {
      this.saveScheduled = false;
      await this.options.store.save(this.options.docId, [...this.entries.values()]).catch((error: unknown) => this.options.onError(error));
    });
  }

  /**
   * Replaces each run of consecutive local commits among `seqs` (outbox order) with one update
   * holding all their ops, in the outbox too, and returns the entries left.
   */
  private mergeRuns(seqs: readonly number[]): number[] {
    const kept: number[] = [];
    let run: number[] = [];
    const endRun = (): void => {
      const merged = run.length > 1 ? this.mergedRun(run) : null;
      if (merged) {
        this.entries.set(run[0]!, merged.update); // keeps its place: the outbox is resent in order
        this.spans.set(run[0]!, merged.span);
        for (const seq of run.slice(1)) {
          this.entries.delete(seq);
          this.spans.delete(seq);
        }
        this.save();
        kept.push(run[0]!);
      } else kept.push(...run);
      run = [];
    };
    for (const seq of seqs) {
      const span = this.spans.get(seq);
      const previous = run.length > 0 ? this.spans.get(run.at(-1)!) : undefined;
      if (span && previous && continues(previous, span)) {
        run.push(seq);
        continue;
      }
      endRun();
      if (span) run.push(seq);
      else kept.push(seq);
    }
    endRun();
    return kept;
  }

  /** One update with the ops of a run of entries, and their span; null (reported) if Loro cannot export it: they go as they are. */
  private mergedRun(run: readonly number[]): { update: Uint8Array; span: OpSpan } | null {
    const { peer, start } = this.spans.get(run[0]!)!;
    const span = { peer, start, end: this.spans.get(run.at(-1)!)!.end };
    try {
      return { update: exportSpans(this.options.doc, [span]), span };
    } catch (error) {
      this.options.onError(error);
      return null;
    }
  }
}

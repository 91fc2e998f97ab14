/**
 * Reassembles fragmented updates (DocUpdateFragmentHeader + DocUpdateFragments) for one peer,
 * holding at most its limits' worth of them, and drops a batch whose fragments stop coming.
 * Both sides use it: the server for what a client sends, the client for large catch-ups.
 *
 * Not part of the pure protocol module: it keeps state and deadlines. The deadline runs from
 * the last fragment received, not from the header, so a large update over a slow link
 * finishes as long as it keeps coming. Timers are the only ambient API it uses.
 */
import { MAX_MESSAGE_BYTES, MIN_FRAGMENT_BYTES, UpdateStatus, batchKey, type BatchId, type CrdtType, type DocUpdateFragment, type DocUpdateFragmentHeader } from './protocol/index';

export interface AssemblerOptions {
  /** Largest reassembled update accepted. */
  maxUpdateBytes: number;
  /** Most batches being reassembled at once. */
  maxConcurrentBatches: number;
  /** Most bytes announced by all batches being reassembled (default: 2 × maxUpdateBytes). */
  maxBufferedBytes?: number;
  /**
   * A batch with no fragment for `ms` is dropped and `onTimeout` hears of it (to send the
   * sender an Ack `fragment_timeout`). Without it, batches wait until dropped by hand.
   */
  timeout?: { ms: number; onTimeout: (header: DocUpdateFragmentHeader) => void };
}

type Rejection = { kind: 'rejected'; status: UpdateStatus; reason: string };
export type HeaderResult = { kind: 'started' } | Rejection;
export type FragmentResult = { kind: 'incomplete' } | { kind: 'complete'; header: DocUpdateFragmentHeader; update: Uint8Array } | { kind: 'unknown_batch' } | Rejection;

interface Pending {
  header: DocUpdateFragmentHeader;
  /** Received fragments by index (a Map: nothing is allocated for fragments not yet sent). */
  parts: Map<number, Uint8Array>;
  receivedBytes: number;
  deadline: ReturnType<typeof setTimeout> | null;
}

export class FragmentAssembler {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: AssemblerOptions) {}

  /** Bytes announced by the batches being reassembled (what they may come to hold). */
  get reservedBytes(): number {
    let total = 0;
    for (const p of this.pending.values()) total += p.header.totalSizeBytes;
    return total;
  }

  get size(): number {
    return this.pending.size;
  }

  header(header: DocUpdateFragmentHeader): HeaderResult {
    const { fragmentCount, totalSizeBytes } = header;
    const { maxUpdateBytes, maxConcurrentBatches } = this.options;
    if (totalSizeBytes > maxUpdateBytes) {
      return reject(UpdateStatus.PayloadTooLarge, `update of ${totalSizeBytes} bytes exceeds ${maxUpdateBytes}`);
    }
    const maxFragments = Math.max(1, Math.ceil(totalSizeBytes / MIN_FRAGMENT_BYTES));
    if (fragmentCount < 1 || fragmentCount > maxFragments || totalSizeBytes > fragmentCount * MAX_MESSAGE_BYTES) {
      return reject(UpdateStatus.InvalidUpdate, `${fragmentCount} fragments cannot carry ${totalSizeBytes} bytes`);
    }
    const key = batchKey(header.crdt, header.roomId, header.batchId);
    // A repeated header restarts the batch (a resend after fragment_timeout may reuse the id).
    this.forget(key);
    if (this.pending.size >= maxConcurrentBatches) {
      return reject(UpdateStatus.RateLimited, `more than ${maxConcurrentBatches} fragmented updates at once`);
    }
    const budget = this.options.maxBufferedBytes ?? 2 * maxUpdateBytes;
    if (this.reservedBytes + totalSizeBytes > budget) {
      return reject(UpdateStatus.RateLimited, `more than ${budget} bytes of fragments at once`);
    }
    const p: Pending = { header, parts: new Map(), receivedBytes: 0, deadline: null };
    this.pending.set(key, p);
    this.arm(key, p);
    return { kind: 'started' };
  }

  fragment(fragment: DocUpdateFragment): FragmentResult {
    const key = batchKey(fragment.crdt, fragment.roomId, fragment.batchId);
    const p = this.pending.get(key);
    if (!p) return { kind: 'unknown_batch' };
    const fail = (status: UpdateStatus, reason: string): Rejection => {
      this.forget(key);
      return reject(status, reason);
    };
    const count = p.header.fragmentCount;
    if (fragment.index >= count) return fail(UpdateStatus.InvalidUpdate, `fragment index ${fragment.index} out of range`);
    if (p.parts.has(fragment.index)) return fail(UpdateStatus.InvalidUpdate, `fragment ${fragment.index} sent twice`);
    if (p.receivedBytes + fragment.fragment.length > p.header.totalSizeBytes) {
      return fail(UpdateStatus.InvalidUpdate, 'fragments exceed the announced size');
    }
    // Copy: the frame buffer may be reused by the transport.
    p.parts.set(fragment.index, fragment.fragment.slice());
    p.receivedBytes += fragment.fragment.length;
    if (p.parts.size < count) {
      this.arm(key, p);
      return { kind: 'incomplete' };
    }
    this.forget(key);
    if (p.receivedBytes !== p.header.totalSizeBytes) {
      return reject(UpdateStatus.InvalidUpdate, 'fragments are smaller than the announced size');
    }
    const update = new Uint8Array(p.header.totalSizeBytes);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const part = p.parts.get(i)!;
      update.set(part, offset);
      offset += part.length;
    }
    return { kind: 'complete', header: p.header, update };
  }

  /** Forgets a batch; true when it was pending. */
  drop(crdt: CrdtType, roomId: string, batchId: BatchId): boolean {
    return this.forget(batchKey(crdt, roomId, batchId));
  }

  /** Forgets every batch of a room (it was left). */
  dropRoom(crdt: CrdtType, roomId: string): void {
    for (const [key, p] of this.pending) {
      if (p.header.crdt === crdt && p.header.roomId === roomId) this.forget(key);
    }
  }

  /** Forgets every batch (the socket closed). */
  clear(): void {
    for (const key of [...this.pending.keys()]) this.forget(key);
  }

  /** (Re)starts a batch's deadline, counted from now. */
  private arm(key: string, p: Pending): void {
    const { timeout } = this.options;
    if (!timeout) return;
    if (p.deadline !== null) clearTimeout(p.deadline);
    p.deadline = setTimeout(() => {
      p.deadline = null;
      if (this.pending.get(key) !== p) return;
      this.pending.delete(key);
      timeout.onTimeout(p.header);
    }, timeout.ms);
  }

  private forget(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    if (p.deadline !== null) clearTimeout(p.deadline);
    return this.pending.delete(key);
  }
}

function reject(status: UpdateStatus, reason: string): Rejection {
  return { kind: 'rejected', status, reason };
}

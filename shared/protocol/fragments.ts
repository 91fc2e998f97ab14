/**
 * Splitting updates into frames under the 256 KiB limit, and reassembling fragmented ones.
 * Pure: the caller owns the clock (it arms the reassembly timeout and calls `drop`).
 */
import { encodeMessage, newBatchId } from './codec';
import {
  MAX_MESSAGE_BYTES,
  MessageType,
  UpdateStatus,
  type BatchId,
  type CrdtType,
  type DocUpdateFragment,
  type DocUpdateFragmentHeader,
} from './messages';

/** Payload bytes per fragment: the frame limit minus room for the largest envelope. */
export const FRAGMENT_PAYLOAD_BYTES = 240 * 1024;
/** Updates are packed into one DocUpdate while their payload stays under this. */
export const BATCH_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - 1024;
const PACKED_PAYLOAD_BUDGET = BATCH_PAYLOAD_BYTES;

/** What an update costs inside a DocUpdate payload (its length prefix takes at most 5 bytes). */
export const packedSize = (update: Uint8Array): number => update.length + 5;

/**
 * Groups updates into batches that each fit one frame: small updates packed together (in
 * order), an update too large for any frame alone (to be fragmented).
 */
export function groupUpdates(updates: readonly Uint8Array[]): Uint8Array[][] {
  const groups: Uint8Array[][] = [];
  let pack: Uint8Array[] = [];
  let packBytes = 0;
  for (const update of updates) {
    const cost = packedSize(update);
    if (cost > PACKED_PAYLOAD_BUDGET) {
      if (pack.length > 0) groups.push(pack);
      groups.push([update]);
      pack = [];
      packBytes = 0;
      continue;
    }
    if (packBytes + cost > PACKED_PAYLOAD_BUDGET) {
      groups.push(pack);
      pack = [];
      packBytes = 0;
    }
    pack.push(update);
    packBytes += cost;
  }
  if (pack.length > 0) groups.push(pack);
  return groups;
}

/**
 * Encodes one group from `groupUpdates` as frames: a DocUpdate, or header + fragments for a
 * single oversized update.
 */
export function encodeBatch(crdt: CrdtType, roomId: string, group: readonly Uint8Array[], batchId: BatchId): Uint8Array[] {
  const only = group[0];
  if (group.length === 1 && only !== undefined && packedSize(only) > PACKED_PAYLOAD_BUDGET) {
    return encodeFragmented(crdt, roomId, only, batchId);
  }
  return [encodeMessage({ type: MessageType.DocUpdate, crdt, roomId, updates: [...group], batchId })];
}

/** Encodes `updates` for one room as the fewest frames under the limit, fresh batch ids. */
export function encodeUpdates(crdt: CrdtType, roomId: string, updates: readonly Uint8Array[]): Uint8Array[] {
  return groupUpdates(updates).flatMap((group) => encodeBatch(crdt, roomId, group, newBatchId()));
}

/** Header + fragments for one update. */
export function encodeFragmented(crdt: CrdtType, roomId: string, update: Uint8Array, batchId: BatchId): Uint8Array[] {
  const fragmentCount = Math.max(1, Math.ceil(update.length / FRAGMENT_PAYLOAD_BYTES));
  const frames = [
    encodeMessage({
      type: MessageType.DocUpdateFragmentHeader,
      crdt,
      roomId,
      batchId,
      fragmentCount,
      totalSizeBytes: update.length,
    }),
  ];
  for (let index = 0; index < fragmentCount; index++) {
    const fragment = update.subarray(index * FRAGMENT_PAYLOAD_BYTES, (index + 1) * FRAGMENT_PAYLOAD_BYTES);
    frames.push(encodeMessage({ type: MessageType.DocUpdateFragment, crdt, roomId, batchId, index, fragment }));
  }
  return frames;
}

export interface AssemblerLimits {
  /** Largest reassembled update accepted. */
  maxUpdateBytes: number;
  /** Most batches being reassembled at once. */
  maxConcurrentBatches: number;
  /** Most bytes announced by all batches being reassembled (default: 2 × maxUpdateBytes). */
  maxBufferedBytes?: number;
}

/** Fragments other than the last must carry at least this much, so a header cannot announce
 *  millions of fragments for a small update. */
export const MIN_FRAGMENT_BYTES = 1024;

type Rejection = { kind: 'rejected'; status: UpdateStatus; reason: string };
export type HeaderResult = { kind: 'started' } | Rejection;
export type FragmentResult =
  | { kind: 'incomplete' }
  | { kind: 'complete'; header: DocUpdateFragmentHeader; update: Uint8Array }
  | { kind: 'unknown_batch' }
  | Rejection;

interface Pending {
  header: DocUpdateFragmentHeader;
  /** Received fragments by index (a Map: nothing is allocated for fragments not yet sent). */
  parts: Map<number, Uint8Array>;
  receivedBytes: number;
}

/** Key of a batch: batch ids are only unique per room. */
export function batchKey(crdt: CrdtType, roomId: string, batchId: BatchId): string {
  return `${crdt}\u0000${roomId}\u0000${batchId}`;
}

/** Reassembles fragmented updates for one peer, holding at most `limits` worth of them. */
export class FragmentAssembler {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly limits: AssemblerLimits) {}

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
    if (totalSizeBytes > this.limits.maxUpdateBytes) {
      return reject(UpdateStatus.PayloadTooLarge, `update of ${totalSizeBytes} bytes exceeds ${this.limits.maxUpdateBytes}`);
    }
    const maxFragments = Math.max(1, Math.ceil(totalSizeBytes / MIN_FRAGMENT_BYTES));
    if (fragmentCount < 1 || fragmentCount > maxFragments || totalSizeBytes > fragmentCount * MAX_MESSAGE_BYTES) {
      return reject(UpdateStatus.InvalidUpdate, `${fragmentCount} fragments cannot carry ${totalSizeBytes} bytes`);
    }
    const key = batchKey(header.crdt, header.roomId, header.batchId);
    // A repeated header restarts the batch (a resend after fragment_timeout may reuse the id).
    this.pending.delete(key);
    if (this.pending.size >= this.limits.maxConcurrentBatches) {
      return reject(UpdateStatus.RateLimited, `more than ${this.limits.maxConcurrentBatches} fragmented updates at once`);
    }
    const budget = this.limits.maxBufferedBytes ?? 2 * this.limits.maxUpdateBytes;
    if (this.reservedBytes + totalSizeBytes > budget) {
      return reject(UpdateStatus.RateLimited, `more than ${budget} bytes of fragments at once`);
    }
    this.pending.set(key, { header, parts: new Map(), receivedBytes: 0 });
    return { kind: 'started' };
  }

  fragment(fragment: DocUpdateFragment): FragmentResult {
    const key = batchKey(fragment.crdt, fragment.roomId, fragment.batchId);
    const p = this.pending.get(key);
    if (!p) return { kind: 'unknown_batch' };
    const fail = (status: UpdateStatus, reason: string): Rejection => {
      this.pending.delete(key);
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
    if (p.parts.size < count) return { kind: 'incomplete' };
    this.pending.delete(key);
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

  /** Forgets a batch (on timeout or when its room is left); true when it was pending. */
  drop(crdt: CrdtType, roomId: string, batchId: BatchId): boolean {
    return this.pending.delete(batchKey(crdt, roomId, batchId));
  }

  /** Forgets every batch of a room. */
  dropRoom(crdt: CrdtType, roomId: string): void {
    for (const [key, p] of this.pending) {
      if (p.header.crdt === crdt && p.header.roomId === roomId) this.pending.delete(key);
    }
  }

  clear(): void {
    this.pending.clear();
  }
}

function reject(status: UpdateStatus, reason: string): Rejection {
  return { kind: 'rejected', status, reason };
}

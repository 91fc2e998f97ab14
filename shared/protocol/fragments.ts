/**
 * Splitting updates into frames under the 256 KiB limit (reassembly, which holds state and
 * deadlines, is `shared/fragment-assembler.ts`).
 */
import { encodeMessage, newBatchId } from './codec';
import { MAX_MESSAGE_BYTES, MessageType, type BatchId, type CrdtType } from './messages';

/** Payload bytes per fragment: the frame limit minus room for the largest envelope. */
export const FRAGMENT_PAYLOAD_BYTES = 240 * 1024;
/** Updates are packed into one DocUpdate while their payload stays under this. */
export const BATCH_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - 1024;
const PACKED_PAYLOAD_BUDGET = BATCH_PAYLOAD_BYTES;

/** What an update costs inside a DocUpdate payload (its length prefix takes at most 5 bytes). */
export const packedSize = (update: Uint8Array): number => update.length + 5;

/**
 * A Loro blob that is not an update (a snapshot, shallow or not) travels in a message of its
 * own: clients import a message's updates with `importBatch`, which imports nothing at all
 * from a shallow snapshot batched with updates (loro-crdt 1.17.1), and the official client
 * does. Presence blobs are not Loro documents and never match.
 */
function isLoroSnapshot(blob: Uint8Array): boolean {
  return blob.length >= 22 && blob[0] === 0x6c && blob[1] === 0x6f && blob[2] === 0x72 && blob[3] === 0x6f && ((blob[20]! << 8) | blob[21]!) !== 4;
}

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
    if (cost > PACKED_PAYLOAD_BUDGET || isLoroSnapshot(update)) {
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

/** Fragments other than the last must carry at least this much, so a header cannot announce
 *  millions of fragments for a small update. */
export const MIN_FRAGMENT_BYTES = 1024;

/** Key of a batch: batch ids are only unique per room. */
export function batchKey(crdt: CrdtType, roomId: string, batchId: BatchId): string {
  return `${crdt}\u0000${roomId}\u0000${batchId}`;
}

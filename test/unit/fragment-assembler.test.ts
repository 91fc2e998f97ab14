/** Reassembly of fragmented updates and its deadlines (shared/fragment-assembler.ts), on a fake clock. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FragmentAssembler } from '../../shared/fragment-assembler';
import {
  CrdtType,
  FRAGMENT_PAYLOAD_BYTES,
  MessageType,
  UpdateStatus,
  decodeMessage,
  encodeFragmented,
  type BatchId,
  type DocUpdateFragment,
  type DocUpdateFragmentHeader,
} from '../../shared/protocol/index';

const ROOM = 'doc-1';

function fragmentsOf(update: Uint8Array, batchId: BatchId): { header: DocUpdateFragmentHeader; fragments: DocUpdateFragment[] } {
  const messages = encodeFragmented(CrdtType.Loro, ROOM, update, batchId).map((frame) => {
    const decoded = decodeMessage(frame);
    if (!decoded.ok) throw new Error('undecodable frame');
    return decoded.message;
  });
  const [header, ...fragments] = messages;
  if (header?.type !== MessageType.DocUpdateFragmentHeader) throw new Error('no header');
  return { header, fragments: fragments.filter((m): m is DocUpdateFragment => m.type === MessageType.DocUpdateFragment) };
}

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('fragment assembler', () => {
  const timedOut: DocUpdateFragmentHeader[] = [];
  let assembler: FragmentAssembler;

  beforeEach(() => {
    vi.useFakeTimers();
    timedOut.length = 0;
    assembler = new FragmentAssembler({ maxUpdateBytes: 8 * FRAGMENT_PAYLOAD_BYTES, maxConcurrentBatches: 4, timeout: { ms: 1_000, onTimeout: (h) => timedOut.push(h) } });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('reassembles an update, and a finished batch never times out', () => {
    const update = bytes(3 * FRAGMENT_PAYLOAD_BYTES - 7);
    const { header, fragments } = fragmentsOf(update, '0x0101010101010101' as BatchId);
    expect(assembler.header(header)).toEqual({ kind: 'started' });
    expect(assembler.fragment(fragments[2]!)).toEqual({ kind: 'incomplete' });
    expect(assembler.fragment(fragments[0]!)).toEqual({ kind: 'incomplete' });
    const done = assembler.fragment(fragments[1]!);
    expect(done.kind).toBe('complete');
    expect(done.kind === 'complete' && done.update).toEqual(update);
    vi.advanceTimersByTime(5_000);
    expect(timedOut).toEqual([]);
    expect(assembler.size).toBe(0);
  });

  it('drops a batch whose fragments stop coming, counting from the last fragment', () => {
    const { header, fragments } = fragmentsOf(bytes(3 * FRAGMENT_PAYLOAD_BYTES), '0x0202020202020202' as BatchId);
    assembler.header(header);
    vi.advanceTimersByTime(900);
    assembler.fragment(fragments[0]!);
    vi.advanceTimersByTime(900); // 1.8 s after the header, 0.9 s after the last fragment
    expect(timedOut).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(timedOut.map((h) => h.batchId)).toEqual([header.batchId]);
    expect(assembler.size).toBe(0);
    expect(assembler.fragment(fragments[1]!)).toEqual({ kind: 'unknown_batch' });
  });

  it('a refused fragment, a dropped room, a repeated header and clear() all cancel the deadline', () => {
    const a = fragmentsOf(bytes(2 * FRAGMENT_PAYLOAD_BYTES), '0x0303030303030303' as BatchId);
    assembler.header(a.header);
    expect(assembler.fragment({ ...a.fragments[0]!, index: 9 })).toMatchObject({ kind: 'rejected', status: UpdateStatus.InvalidUpdate });
    const b = fragmentsOf(bytes(2 * FRAGMENT_PAYLOAD_BYTES), '0x0404040404040404' as BatchId);
    assembler.header(b.header);
    assembler.dropRoom(CrdtType.Loro, ROOM);
    const c = fragmentsOf(bytes(2 * FRAGMENT_PAYLOAD_BYTES), '0x0505050505050505' as BatchId);
    assembler.header(c.header);
    vi.advanceTimersByTime(600);
    assembler.header(c.header); // a resend restarts the batch, and its deadline
    vi.advanceTimersByTime(600);
    expect(timedOut).toEqual([]);
    assembler.clear();
    vi.advanceTimersByTime(5_000);
    expect(timedOut).toEqual([]);
  });

  it('refuses what its limits do not allow, before holding anything', () => {
    const tooBig = fragmentsOf(bytes(9 * FRAGMENT_PAYLOAD_BYTES), '0x0606060606060606' as BatchId);
    expect(assembler.header(tooBig.header)).toMatchObject({ kind: 'rejected', status: UpdateStatus.PayloadTooLarge });
    for (const id of ['0x1111111111111111', '0x2222222222222222', '0x3333333333333333', '0x4444444444444444'])
      expect(assembler.header(fragmentsOf(bytes(2 * FRAGMENT_PAYLOAD_BYTES), id as BatchId).header).kind).toBe('started');
    expect(assembler.header(fragmentsOf(bytes(2 * FRAGMENT_PAYLOAD_BYTES), '0x0707070707070707' as BatchId).header)).toMatchObject({ kind: 'rejected', status: UpdateStatus.RateLimited });
  });
});

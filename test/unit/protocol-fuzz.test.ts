/**
 * Fuzzing the decoder with seeded randomness: random frames, truncated frames and bit flips
 * of valid frames must decode or fail with a typed `ProtocolDecodeError`, never throw anything
 * else and never hang. A seed that ever fails joins `KEPT_SEEDS` for good.
 */
import { describe, expect, it } from 'vitest';
import { CrdtType, DecodeErrorReason, MAX_MESSAGE_BYTES, MessageType, ProtocolDecodeError, decodeMessage, encodeMessage, type ProtocolMessage } from '../../shared/protocol/index';
import { randomBytes, seededRandom } from '../helpers/random';

/** Seeds that found bugs once; they run every time. */
const KEPT_SEEDS: number[] = [];
const RANDOM_SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i);

function sampleFrames(random: () => number): Uint8Array[] {
  const bytes = (n: number) => randomBytes(random, n);
  const roomId = `room-${Math.floor(random() * 1e6)}`;
  const batchId = '0x00112233445566ff' as const;
  const messages: ProtocolMessage[] = [
    { type: MessageType.JoinRequest, crdt: CrdtType.Loro, roomId, auth: bytes(3), version: bytes(20) },
    { type: MessageType.JoinResponseOk, crdt: CrdtType.Loro, roomId, permission: 'read', version: bytes(12), extra: bytes(2) },
    { type: MessageType.JoinError, crdt: CrdtType.Loro, roomId, code: 0x7f, message: 'x', appCode: 'y' },
    { type: MessageType.DocUpdate, crdt: CrdtType.Loro, roomId, updates: [bytes(40), bytes(1), bytes(300)], batchId },
    { type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId, batchId, fragmentCount: 3, totalSizeBytes: 600_000 },
    { type: MessageType.DocUpdateFragment, crdt: CrdtType.Loro, roomId, batchId, index: 2, fragment: bytes(100) },
    { type: MessageType.RoomError, crdt: CrdtType.LoroEphemeralStore, roomId, code: 1, message: 'again' },
    { type: MessageType.Leave, crdt: CrdtType.Loro, roomId },
    { type: MessageType.Ack, crdt: CrdtType.Loro, roomId, refId: batchId, status: 0 },
  ];
  return messages.map(encodeMessage);
}

function expectTypedOutcome(frame: Uint8Array): void {
  const result = decodeMessage(frame);
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(ProtocolDecodeError);
    expect(Object.values(DecodeErrorReason)).toContain(result.error.reason);
  }
}

describe('protocol decoder fuzz', () => {
  it.each([...KEPT_SEEDS, ...RANDOM_SEEDS])('seed %i: random, truncated and mutated frames', (seed) => {
    const random = seededRandom(seed);
    for (let i = 0; i < 300; i++) expectTypedOutcome(randomBytes(random, Math.floor(random() * 64)));
    // Random bytes behind a valid envelope reach the per-type decoders.
    for (let i = 0; i < 300; i++) {
      const head = new Uint8Array([0x25, 0x4c, 0x4f, 0x52, 0x01, 0x61, Math.floor(random() * 10)]);
      expectTypedOutcome(new Uint8Array([...head, ...randomBytes(random, Math.floor(random() * 40))]));
    }
    for (const frame of sampleFrames(random)) {
      for (let cut = 0; cut < frame.length; cut++) {
        const result = decodeMessage(frame.subarray(0, cut));
        // Only messages that end in optional fields may decode when cut short.
        if (result.ok) expect([MessageType.JoinResponseOk, MessageType.JoinError]).toContain(result.message.type);
        expectTypedOutcome(frame.subarray(0, cut));
      }
      for (let flip = 0; flip < 50; flip++) {
        const mutated = frame.slice();
        const at = Math.floor(random() * mutated.length);
        mutated[at] = mutated[at]! ^ (1 << Math.floor(random() * 8));
        expectTypedOutcome(mutated);
      }
    }
  });

  it('names the failure', () => {
    const reasonOf = (frame: Uint8Array) => {
      const r = decodeMessage(frame);
      return r.ok ? 'ok' : r.error.reason;
    };
    expect(reasonOf(new Uint8Array([1, 2]))).toBe('truncated');
    expect(reasonOf(new TextEncoder().encode('%XYZ\x00\x07'))).toBe('unknown_crdt');
    expect(reasonOf(new TextEncoder().encode('%LOR\x00\x09'))).toBe('unknown_message_type');
    expect(reasonOf(new Uint8Array([...new TextEncoder().encode('%LOR'), 129, 1]))).toBe('room_id_too_long');
    expect(reasonOf(new Uint8Array([...new TextEncoder().encode('%LOR'), 1, 0xff, 7]))).toBe('invalid_utf8');
    expect(reasonOf(new Uint8Array([...new TextEncoder().encode('%LOR'), 0, 7, 0]))).toBe('trailing_bytes');
    expect(reasonOf(new Uint8Array([...new TextEncoder().encode('%LOR'), 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe('invalid_varint');
    expect(reasonOf(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toBe('too_large');
  });

  it('a DocUpdate announcing billions of updates fails fast', () => {
    const frame = new Uint8Array([...new TextEncoder().encode('%LOR'), 0, 3, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const started = performance.now();
    expect(decodeMessage(frame).ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses to encode what the protocol forbids', () => {
    expect(() => encodeMessage({ type: MessageType.Leave, crdt: CrdtType.Loro, roomId: 'x'.repeat(129) })).toThrow(/room id/);
    expect(() => encodeMessage({ type: MessageType.DocUpdate, crdt: CrdtType.Loro, roomId: 'r', updates: [new Uint8Array(MAX_MESSAGE_BYTES)], batchId: '0x0000000000000000' })).toThrow(/max/);
  });
});

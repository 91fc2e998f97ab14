/**
 * Joiners sent the same catch-up (the room's whole-document answer, its stored bytes) share
 * one framing: framing copies every byte, and each socket that never read held its own copy.
 */
import { describe, expect, it } from 'vitest';
import { Relay } from '../../server/sync/relay';

const update = (bytes: number, fill: number): Uint8Array => new Uint8Array(bytes).fill(fill);

describe('catch-up relays', () => {
  it('joiners of one version share the frames; other updates, or another room, get their own', () => {
    const whole = update(300_000, 1); // fragmented: several frames
    const tail = update(100, 2);
    const first = Relay.catchUp('doc-a', [whole, tail]);
    const second = Relay.catchUp('doc-a', [whole, tail]);
    expect(second).toBe(first);
    expect(second.frames.length).toBeGreaterThan(2);
    expect(second.frames.every((f, i) => f === first.frames[i])).toBe(true);
    // The tail grew: a new answer, which replaces the room's old one (one kept per room).
    expect(Relay.catchUp('doc-a', [whole, tail, update(10, 3)])).not.toBe(first);
    expect(Relay.catchUp('doc-a', [whole, tail])).not.toBe(first);
    expect(Relay.catchUp('doc-b', [whole, tail])).not.toBe(first);
  });

  it('keeps a bounded number of catch-ups, and none of a room that closed', () => {
    const kept = update(1_000, 4);
    const relay = Relay.catchUp('doc-c', [kept]);
    for (let i = 0; i < 40; i++) Relay.catchUp(`doc-${i}`, [update(10, i)]);
    expect(Relay.catchUp('doc-c', [kept])).not.toBe(relay); // pushed out by 40 others
    const again = Relay.catchUp('doc-c', [kept]);
    expect(Relay.catchUp('doc-c', [kept])).toBe(again);
    Relay.forgetCatchUps('doc-c');
    expect(Relay.catchUp('doc-c', [kept])).not.toBe(again);
  });

  it('keeps at most 128 MiB of frames', () => {
    const big = Array.from({ length: 3 }, (_, i) => update(30 * 1024 * 1024, i)); // each ~60 MiB kept: its bytes and its frames
    const relays = big.map((u, i) => Relay.catchUp(`doc-big-${i}`, [u]));
    expect(Relay.catchUp('doc-big-0', [big[0]!])).not.toBe(relays[0]); // 180 MiB: the oldest went
    expect(Relay.catchUp('doc-big-2', [big[2]!])).toBe(relays[2]);
  });
});

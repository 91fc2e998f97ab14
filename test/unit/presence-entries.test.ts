/**
 * The presence entry reader and writer speak Loro's EphemeralStore encoding themselves: these
 * tests feed the reader what loro-crdt writes and give loro-crdt what the writer makes (so a
 * Loro upgrade that changes the encoding fails here first), and feed the reader broken or
 * hostile bytes, which it refuses without throwing.
 */
import { EphemeralStore, LoroDoc, type Value } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { encodePresenceEntry, readPresenceEntries } from '../../server/sync/presence-entries';
import { seededRandom } from '../helpers/random';

const limits = { maxEntryBytes: 4096 };

describe('presence entries', () => {
  const stamp = { user: 'u_1', name: 'Ada Lovelace 👩‍💻' };

  it('reads every kind of value loro-crdt writes, and deletions; what it writes back, loro reads as the value, stamped', () => {
    const cursor = (() => {
      const doc = new LoroDoc();
      doc.getText('text').insert(0, 'hello');
      return doc.getText('text').getCursor(2)!.encode();
    })();
    const values: Record<string, Value> = {
      map: { anchor: cursor, head: null, idle: false, n: 42, neg: -7, big: 2 ** 40, half: 0.5, s: 'wörld 👋', list: [1, 'two', [true]], nested: { deeper: { x: 1 } } },
      string: 'plain',
      number: 3.25,
      bool: true,
      nil: null,
      bytes: new Uint8Array([0, 1, 255]),
      list: ['a', 1],
      empty: {},
    };
    const store = new EphemeralStore(60_000);
    for (const [key, value] of Object.entries(values)) store.set(key, value);
    store.set('gone', 'soon');
    store.delete('gone');
    const read = readPresenceEntries(store.encodeAll(), limits);
    if (!read.ok) throw new Error(read.detail);
    expect(read.entries.length).toBe(Object.keys(values).length + 1);
    const server = new EphemeralStore(60_000);
    const now = Date.now();
    for (const entry of read.entries) server.apply(encodePresenceEntry(entry.key, entry.value, stamp, now));
    for (const [key, value] of Object.entries(values)) {
      const kept = key === 'map' || key === 'empty' ? { ...(value as object), ...stamp } : { value, ...stamp };
      expect(server.get(key), key).toEqual(kept);
    }
    expect(read.entries.find((e) => e.key === 'gone')).toMatchObject({ value: undefined });
    expect(server.get('gone')).toBeUndefined();
    // One key's update (what a client sends as it changes) reads the same.
    const one = readPresenceEntries(store.encode('map'), limits);
    expect(one).toMatchObject({ ok: true, entries: [{ key: 'map' }] });
    for (const s of [store, server]) s.destroy();
  });

  it("replaces a map's own user and name, and a later timestamp wins even within the same millisecond", () => {
    const client = new EphemeralStore(60_000);
    client.set('k', { user: 'owner-id', name: 'The Owner', pos: 3 });
    const read = readPresenceEntries(client.encode('k'), limits);
    if (!read.ok) throw new Error(read.detail);
    const receiver = new EphemeralStore(60_000);
    const t = Date.now();
    receiver.apply(encodePresenceEntry('k', read.entries[0]!.value, stamp, t));
    expect(receiver.get('k')).toEqual({ pos: 3, ...stamp });
    // A deletion one tick later is taken (loro's own set() stamps milliseconds: it would not be).
    receiver.apply(encodePresenceEntry('k', undefined, stamp, t + 1));
    expect(receiver.get('k')).toBeUndefined();
    for (const s of [client, receiver]) s.destroy();
  });

  it('refuses an entry over the size limit as too_large, and what is not an update as malformed', () => {
    const store = new EphemeralStore(60_000);
    store.set('big', { blob: new Uint8Array(5_000) });
    expect(readPresenceEntries(store.encode('big'), limits)).toMatchObject({ ok: false, reason: 'too_large' });
    expect(readPresenceEntries(store.encode('big'), { maxEntryBytes: 6_000 })).toMatchObject({ ok: true });
    expect(readPresenceEntries(new Uint8Array([9, 9, 9]), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(readPresenceEntries(new Uint8Array([]), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    // A count of entries far past the bytes there are (an allocation bomb).
    expect(readPresenceEntries(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    // Trailing bytes after the entries.
    expect(readPresenceEntries(new Uint8Array([...new EphemeralStore(1).encodeAll(), 0]), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    // A container reference (LoroValue variant 7) has no place in presence.
    expect(readPresenceEntries(new Uint8Array([1, 1, 0x6b, 1, 7, 0, 0]), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    // Values nested past the depth limit.
    const deep = new Uint8Array([1, 1, 0x6b, 1, ...Array.from({ length: 40 }, () => [5, 1]).flat(), 0, 0]);
    expect(readPresenceEntries(deep, limits)).toMatchObject({ ok: false, reason: 'malformed' });
    store.destroy();
  });

  it('2,000 corrupted updates never throw; whatever it reads, loro reads too, stamped or not', () => {
    const random = seededRandom(18_3);
    const store = new EphemeralStore(60_000);
    store.set('a', { anchor: new Uint8Array([1, 2, 3]), head: null, idle: false, name: 'x' });
    store.set('b', [1, 'two', { three: 3.5 }]);
    const good = store.encodeAll();
    for (let i = 0; i < 2_000; i++) {
      const bytes = good.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      const read = readPresenceEntries(cut, limits);
      if (read.ok) {
        // What we accept, loro's own decoder accepts too, and so what the room writes from it.
        const check = new EphemeralStore(60_000);
        expect(() => check.apply(cut), `seed 183, case ${i}`).not.toThrow();
        for (const e of read.entries) expect(() => check.apply(encodePresenceEntry(`t/${e.key}`, e.value, stamp, Date.now())), `seed 183, case ${i}`).not.toThrow();
        check.destroy();
      }
    }
    store.destroy();
  });
});

/** What a room knows of its stored log (server/sync/doc-room/stored-log.ts). */
import { describe, expect, it } from 'vitest';
import { StoredLog } from '../../server/sync/doc-room/stored-log';

const entry = (seq: number, ...sizes: number[]) => ({ seq, updates: sizes.map((n) => new Uint8Array(n).fill(seq)) });

describe('stored log', () => {
  it('counts the tail after the snapshot and gives the stored bytes in import order', () => {
    const snapshot = { seq: 2, bytes: new Uint8Array([9]), pending: new Uint8Array([8]) };
    const log = new StoredLog(snapshot, [entry(3, 2), entry(4, 1, 1)], 4);
    expect(log.stats()).toEqual({ snapshotBytes: 1, tailEntries: 2, tailUpdates: 3, tailBytes: 4, appliedSeq: 4 });
    expect(log.bytes().map((b) => [...b])).toEqual([[9], [8], [3, 3], [4], [4]]);
    expect(log.hasSnapshot).toBe(true);
  });

  it('moves the applied seq over an own commit past a gap only once the entries before it are in', () => {
    const log = new StoredLog(null, [], 1);
    expect(log.committedOwn(entry(2, 1))).toBe(true);
    expect(log.appliedSeq).toBe(2);
    // Another node committed 3 and 4 meanwhile: our next commit gets 5.
    expect(log.committedOwn(entry(5, 1))).toBe(false);
    expect(log.appliedSeq).toBe(2);
    expect(log.isOwnAhead(5)).toBe(true);
    log.appliedOther(entry(3, 1));
    expect(log.appliedSeq).toBe(3);
    log.appliedOther(entry(4, 1));
    // 4 is in, and 5 (own, waiting) with it.
    expect(log.appliedSeq).toBe(5);
    expect(log.isOwnAhead(5)).toBe(false);
    expect(log.stats().tailEntries).toBe(4);
  });

  it('forgets own commits a jump past them covers', () => {
    const log = new StoredLog(null, [], 0);
    log.committedOwn(entry(3, 1));
    log.committedOwn(entry(6, 1));
    log.advanceTo(4); // a snapshot from another node covered 1-4
    expect(log.isOwnAhead(3)).toBe(false);
    expect(log.appliedSeq).toBe(4);
    log.appliedOther(entry(5, 1));
    expect(log.appliedSeq).toBe(6);
  });

  it('adopts a newer snapshot, dropping the entries it covers, and ignores an older one', () => {
    const log = new StoredLog(null, [entry(1, 4), entry(2, 2), entry(3, 1)], 3);
    log.adoptSnapshot({ seq: 2, bytes: new Uint8Array(5), pending: null });
    expect(log.stats()).toEqual({ snapshotBytes: 5, tailEntries: 1, tailUpdates: 1, tailBytes: 1, appliedSeq: 3 });
    log.adoptSnapshot({ seq: 1, bytes: new Uint8Array(50), pending: null });
    expect(log.stats().snapshotBytes).toBe(5);
    expect(log.tailUpdates).toBe(1);
    expect(log.tailBytes).toBe(1);
  });
});

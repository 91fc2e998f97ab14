/** Grouping log entries into versions: by people, by time, duplicates, named (closed) versions. */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { GROUP_GAP_MS, entryMetaOf, foldEntries, type EntryMeta } from '../../server/history/version-groups';
import { appendEdit } from '../helpers/traces';

const minute = 60_000;
const entry = (seq: number, atMinutes: number, spans: Record<string, [number, number]>): EntryMeta => ({ seq, at: new Date(atMinutes * minute), spans: new Map(Object.entries(spans)) });
const authorOf = (peer: string): string => `user:${peer}`;

describe('version groups', () => {
  it('groups consecutive entries by the same people within the gap, and splits on a new author or a long pause', () => {
    const groups = foldEntries(
      null,
      [entry(1, 0, { a: [0, 5] }), entry(2, 1, { a: [5, 7] }), entry(3, 2, { b: [0, 3] }), entry(4, 3, { b: [3, 4] }), entry(5, 3 + GROUP_GAP_MS / minute + 1, { b: [4, 6] })],
      authorOf,
    );
    expect(groups.map((g) => [g.firstSeq, g.lastSeq, g.authors, g.ops])).toEqual([
      [1, 2, ['user:a'], 7],
      [3, 4, ['user:b'], 4],
      [5, 5, ['user:b'], 2],
    ]);
    expect(groups.map((g) => g.version)).toEqual([{ a: 7 }, { a: 7, b: 4 }, { a: 7, b: 6 }]);
  });

  it('counts a resend as nothing new, and never extends a closed (named) version', () => {
    const [first] = foldEntries(null, [entry(1, 0, { a: [0, 5] })], authorOf);
    const closed = { ...first!, closed: true, name: 'Sent' };
    const groups = foldEntries(closed, [entry(2, 0, { a: [0, 5] }), entry(3, 0, { a: [5, 6] })], authorOf);
    expect(groups.map((g) => [g.firstSeq, g.lastSeq, g.ops, g.name])).toEqual([
      [1, 2, 5, 'Sent'],
      [3, 3, 1, null],
    ]);
  });

  it('reads peers and counter ranges from the updates’ headers', () => {
    const doc = new LoroDoc();
    doc.setPeerId(7n);
    const first = appendEdit(doc, 'abc');
    const second = appendEdit(doc, 'de');
    expect([...entryMetaOf({ seq: 1, updates: [first, second] }).spans]).toEqual([['7', [0, 5]]]);
    expect([...entryMetaOf({ seq: 2, updates: [second] }).spans]).toEqual([['7', [3, 5]]]);
  });
});

/** The op-span helper both sides merge updates with (shared/op-spans.ts). */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { continues, exportSpans, mergeSpans, opsEnd, spansOfImport, type OpSpan } from '../../shared/op-spans';
import { TEXT, appendEdit, textOf } from '../helpers/traces';

describe('op spans', () => {
  it('merges overlapping and touching spans of a peer, and keeps peers apart', () => {
    const spans: OpSpan[] = [
      { peer: '2', start: 5, end: 9 },
      { peer: '1', start: 0, end: 3 },
      { peer: '1', start: 3, end: 4 },
      { peer: '1', start: 2, end: 6 },
      { peer: '1', start: 8, end: 10 },
    ];
    expect(mergeSpans(spans)).toEqual([
      { peer: '1', start: 0, end: 6 },
      { peer: '1', start: 8, end: 10 },
      { peer: '2', start: 5, end: 9 },
    ]);
    expect(spans[1]).toEqual({ peer: '1', start: 0, end: 3 }); // the input is left alone
  });

  it('says when one span continues another', () => {
    expect(continues({ peer: '1', start: 0, end: 3 }, { peer: '1', start: 3, end: 5 })).toBe(true);
    expect(continues({ peer: '1', start: 0, end: 3 }, { peer: '1', start: 4, end: 5 })).toBe(false);
    expect(continues({ peer: '1', start: 0, end: 3 }, { peer: '2', start: 3, end: 5 })).toBe(false);
  });

  it('exports the spans of many small imports as one update that rebuilds the same text', () => {
    const author = new LoroDoc();
    const updates = ['a', 'bc', 'def', 'g'].map((t) => appendEdit(author, t));
    const server = new LoroDoc();
    const spans = updates.flatMap((u) => spansOfImport(server.import(u)));
    expect(spans.map((s) => s.end - s.start)).toEqual([1, 2, 3, 1]);
    const merged = mergeSpans(spans);
    expect(merged).toEqual([{ peer: author.peerIdStr, start: 0, end: 7 }]);
    const one = exportSpans(server, merged);
    const reader = new LoroDoc();
    reader.import(one);
    expect(textOf(reader)).toBe('abcdefg');
    expect(one.length).toBeLessThan(updates.reduce((n, u) => n + u.length, 0));
    expect(opsEnd(server, author.peerIdStr)).toBe(7);
    expect(opsEnd(server, '42')).toBe(0);
    expect(reader.getText(TEXT).length).toBe(7);
  });
});

/**
 * Replaying typing that could not be sent over a document that moved on (`rebase`): every edit
 * of both sides survives, wherever they are. Seeded fuzz: a random base, random edits on both
 * sides that do not overlap, and the merge must equal the base with all of them applied.
 */
import { describe, expect, it } from 'vitest';
import { applyDelta, diffAll, rebase } from '../../shared/text/delta';
import { seededRandom } from '../helpers/random';

describe('rebase', () => {
  it('keeps my edits at both ends and theirs in the middle (the scramble the one-splice diff made)', () => {
    const base = 'The quick brown fox jumps over the lazy dog.';
    const mine = 'A quick brown fox jumps over the lazy cat.';
    const theirs = 'The quick RED fox jumps over the lazy dog.';
    expect(applyDelta(theirs, rebase(base, mine, theirs))).toBe('A quick RED fox jumps over the lazy cat.');
    expect(applyDelta(mine, rebase(base, theirs, mine))).toBe('A quick RED fox jumps over the lazy cat.');
  });

  it('keeps their edit between two of mine in a text full of repeats', () => {
    const base = 'aaaa bbbb aaaa bbbb aaaa';
    const mine = 'aaXaa bbbb aaaa bbbb aaYaa';
    const theirs = 'aaaa bbbb aZaa bbbb aaaa';
    expect(applyDelta(theirs, rebase(base, mine, theirs))).toBe('aaXaa bbbb aZaa bbbb aaYaa');
  });

  // Cells of random text (few letters, spaces, é, an astral emoji, newlines: repeats everywhere)
  // between separators that appear once; each cell is edited by one side at most.
  const KEPT_SEEDS: number[] = [];
  it.each([...KEPT_SEEDS, ...Array.from({ length: 300 }, (_, i) => i + 1)])('seeded fuzz: random non-overlapping edits on both sides are all kept (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const alphabet = ['a', 'b', 'c', ' ', ' ', 'é', '\u{1F600}', '\n'];
    const randomCodePoints = (max: number): string[] => Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(alphabet));
    const cells = Array.from({ length: 2 + Math.floor(random() * 10) }, () => randomCodePoints(16));
    const separator = (i: number): string => String.fromCodePoint(0xe000 + i);
    const join = (parts: string[]): string => parts.map((p, i) => (i > 0 ? separator(i) : '') + p).join('');
    const base = cells.map((c) => c.join(''));
    const mine = [...base];
    const theirs = [...base];
    const expected = [...base];
    cells.forEach((cell, i) => {
      const who = random();
      if (who < 0.3) return;
      // One edit in the cell: replace a random range of code points by random text.
      const from = Math.floor(random() * (cell.length + 1));
      const to = from + Math.floor(random() * (cell.length - from + 1));
      const edited = [...cell.slice(0, from), ...randomCodePoints(5), ...cell.slice(to)].join('');
      (who < 0.65 ? mine : theirs)[i] = edited;
      expected[i] = edited;
    });
    const [b, m, t, e] = [join(base), join(mine), join(theirs), join(expected)];
    expect(applyDelta(t, rebase(b, m, t)), JSON.stringify({ base: b, mine: m, theirs: t })).toBe(e);
    expect(applyDelta(m, rebase(b, t, m)), JSON.stringify({ base: b, mine: t, theirs: m })).toBe(e);
  });
});

describe('diffAll', () => {
  it('round-trips random texts and never splits a surrogate pair', () => {
    const random = seededRandom(7);
    const alphabet = ['a', 'b', ' ', '\u{1F600}', '\u{1F601}', 'é'];
    const text = (): string => Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 2_000; i++) {
      const before = text();
      const after = text();
      const delta = diffAll(before, after);
      expect(applyDelta(before, delta)).toBe(after);
      // Every op boundary falls between code points.
      let at = 0;
      for (const op of delta) {
        if ('insert' in op) expect(op.insert.length > 0 && !/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(op.insert)).toBe(true);
        else {
          at += 'retain' in op ? op.retain : op.delete;
          const c = before.charCodeAt(at);
          expect(c >= 0xdc00 && c <= 0xdfff).toBe(false);
        }
      }
    }
  });

  it('finds separate edits as separate edits, and texts too far apart as one splice (bounded cost)', () => {
    expect(diffAll('The quick brown fox', 'A quick brown cat')).toEqual([{ delete: 3 }, { insert: 'A' }, { retain: 13 }, { delete: 3 }, { insert: 'cat' }]);
    const random = seededRandom(3);
    const noise = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
    const [x, y] = [noise(60_000), noise(60_000)];
    const delta = diffAll(x, y);
    expect(applyDelta(x, delta)).toBe(y);
    expect(delta.length).toBeLessThanOrEqual(2);
  });
});

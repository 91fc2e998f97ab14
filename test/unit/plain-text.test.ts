/**
 * What the line-based code editors' adapters (Monaco, Ace, CodeMirror 5) share, checked against
 * plain string arithmetic: LineIndex follows edits given in (line, column) of the text before
 * each and answers offsets in `\n`-joined text; a delta's replacements, applied last first as
 * the adapters apply them, make the same text; carets at an insertion stay before it; line
 * boxes follow wrapped lines.
 */
import { describe, expect, it } from 'vitest';
import { applyDelta, type TextDelta, type TextOp } from '../../shared/text/delta';
import { LineIndex, lineRects, mapSelections, replacements, toLF } from '../../extension/lib/page/adapters/plain-text';
import { seededRandom } from '../helpers/random';

const indexOf = (text: string): LineIndex => {
  const lines = text.split('\n');
  return new LineIndex(lines.length, (i) => lines[i]!.length);
};

const position = (text: string, offset: number): { line: number; ch: number } => {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, ch: before[before.length - 1]!.length };
};

function randomText(random: () => number, length: number): string {
  const chars = 'ab \n\né';
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(random() * chars.length)];
  return out;
}

describe('LineIndex', () => {
  it.each(Array.from({ length: 100 }, (_, i) => i + 1))('follows random edits given in line and column (seed %i)', (seed) => {
    const random = seededRandom(seed);
    let text = randomText(random, Math.floor(random() * 40));
    const index = indexOf(text);
    for (let step = 0; step < 30; step++) {
      const a = Math.floor(random() * (text.length + 1));
      const b = a + Math.floor(random() * Math.min(6, text.length - a + 1));
      const inserted = randomText(random, Math.floor(random() * 5));
      const delta = index.replace(position(text, a), position(text, b), inserted.split('\n'));
      const next = text.slice(0, a) + inserted + text.slice(b);
      expect(applyDelta(text, delta)).toBe(next);
      text = next;
      expect(index.length).toBe(text.length);
      expect(index.lines).toBe(text.split('\n').length);
      for (let o = 0; o <= text.length; o++) {
        const p = position(text, o);
        expect(index.position(o)).toEqual(p);
        expect(index.offset(p.line, p.ch)).toBe(o);
      }
      text.split('\n').forEach((line, i) => expect(index.lineLength(i)).toBe(line.length));
    }
  });
});

describe('replacements', () => {
  it.each(Array.from({ length: 200 }, (_, i) => i + 1))('applied last first, make what the delta makes (seed %i)', (seed) => {
    const random = seededRandom(seed);
    const text = randomText(random, 30);
    const delta: TextOp[] = [];
    let at = 0;
    while (at < text.length) {
      const n = 1 + Math.floor(random() * 4);
      const kind = random();
      if (kind < 0.4) delta.push({ retain: Math.min(n, text.length - at) });
      else if (kind < 0.7) delta.push({ delete: Math.min(n, text.length - at) });
      else {
        delta.push({ insert: randomText(random, n) });
        continue;
      }
      const last = delta[delta.length - 1]!;
      at += 'retain' in last ? last.retain : 'delete' in last ? last.delete : 0;
    }
    let out = text;
    const edits = replacements(delta);
    for (let i = edits.length - 1; i >= 0; i--) out = out.slice(0, edits[i]!.from) + edits[i]!.insert + out.slice(edits[i]!.to);
    expect(out).toBe(applyDelta(text, delta));
    // Ascending, apart: one replacement per place (editors' batch APIs refuse overlaps).
    for (let i = 1; i < edits.length; i++) expect(edits[i]!.from).toBeGreaterThan(edits[i - 1]!.to);
  });
});

describe('mapSelections', () => {
  it('keeps a caret before text inserted right at it, and says nothing when the editor agrees', () => {
    const delta: TextDelta = [{ retain: 5 }, { insert: 'xyz' }];
    // The editor moved the caret at 5 past the insert (8); Tandem's model keeps it at 5.
    expect(mapSelections([{ anchor: 5, head: 5 }], delta, [{ anchor: 8, head: 8 }])).toEqual([{ anchor: 5, head: 5 }]);
    expect(mapSelections([{ anchor: 7, head: 2 }], delta, [{ anchor: 10, head: 2 }])).toBeNull();
  });
});

describe('lineRects', () => {
  // A monospace grid: 10 px a column, 20 px a row, lines wrap at 8 columns.
  const lines = ['0123456789abcdef', 'xy', ''];
  const caret = (p: { line: number; ch: number }): { left: number; top: number; height: number } => {
    const rowsBefore = lines.slice(0, p.line).reduce((n, l) => n + Math.max(1, Math.ceil(l.length / 8)), 0);
    const row = p.ch > 0 && p.ch % 8 === 0 ? p.ch / 8 - 1 : Math.floor(p.ch / 8);
    const col = p.ch - row * 8;
    return { left: 100 + col * 10, top: 50 + (rowsBefore + row) * 20, height: 20 };
  };
  const edges = (): { left: number; right: number } => ({ left: 100, right: 180 });

  it('gives one box per drawn row, a sliver for each line break crossed', () => {
    const rects = lineRects({ line: 0, ch: 3 }, { line: 1, ch: 1 }, (l) => lines[l]!.length, caret, edges);
    expect(rects).toEqual([
      { left: 130, top: 50, width: 50, height: 20 }, // row 1 of line 0, from column 3 to the edge
      { left: 100, top: 70, width: 80, height: 20 }, // its wrapped second row, to its end
      { left: 100, top: 90, width: 10, height: 20 }, // line 1 up to column 1
    ]);
    expect(lineRects({ line: 1, ch: 2 }, { line: 2, ch: 0 }, (l) => lines[l]!.length, caret, edges)).toEqual([
      { left: 120, top: 90, width: 4, height: 20 },
      { left: 100, top: 110, width: 0, height: 20 },
    ]);
  });
});

describe('toLF', () => {
  it('turns CRLF and CR line ends into LF', () => expect(toLF('a\r\nb\rc\nd')).toBe('a\nb\nc\nd'));
});

/**
 * What the line-based code editors (Monaco, Ace, CodeMirror 5) share: they address text by
 * (line, column) and may keep CRLF line ends, while Tandem's offsets are UTF-16 units in a text
 * with `\n` between lines. `LineIndex` turns one into the other in O(1)/O(log lines) and follows
 * the editor's changes as they are reported; `replacements` turns a delta into the edits an
 * editor's API takes; `mapSelections` keeps the person's carets where Tandem's text model says.
 */
import type { TextDelta, TextOp } from '../../../../shared/text/delta';
import { push } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { moveOffset } from '../../../../shared/text/delta';

/** A (line, column) position, both from 0, columns in UTF-16 units. */
export interface LinePos {
  line: number;
  ch: number;
}

/**
 * Where each line starts in the `\n`-joined text. Editors report a change in the positions of
 * the text before it (CodeMirror 5 even delays its change events to the end of an operation,
 * when the editor's own text is already past them): the index answers in those positions, then
 * `replace` moves it past the change.
 */
export class LineIndex {
  private starts: number[];
  /** Length of the whole text. */
  length: number;

  /** `lineLength(i)` for i in [0, lines). */
  constructor(lines: number, lineLength: (line: number) => number) {
    this.starts = new Array<number>(lines);
    let at = 0;
    for (let i = 0; i < lines; i++) {
      this.starts[i] = at;
      at += lineLength(i) + 1;
    }
    this.length = Math.max(0, at - 1);
  }

  get lines(): number {
    return this.starts.length;
  }

  offset(line: number, ch: number): number {
    const start = this.starts[line];
    if (start === undefined) throw new RangeError(`line ${line} of ${this.starts.length}`);
    return start + ch;
  }

  /** The length of one line (without its `\n`). */
  lineLength(line: number): number {
    const next = this.starts[line + 1];
    return (next === undefined ? this.length + 1 : next) - this.offset(line, 0) - 1;
  }

  position(offset: number): LinePos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, ch: offset - this.starts[lo]! };
  }

  /** [from, to) replaced by `inserted` (its lines). Returns the change as a delta on the text before it. */
  replace(from: LinePos, to: LinePos, inserted: readonly string[]): TextDelta {
    const a = this.offset(from.line, from.ch);
    const b = this.offset(to.line, to.ch);
    const text = inserted.join('\n');
    const shift = text.length - (b - a);
    const added: number[] = [];
    let at = a;
    for (let i = 0; i < inserted.length - 1; i++) {
      at += inserted[i]!.length + 1;
      added.push(at);
    }
    const removedLines = to.line - from.line;
    if (removedLines === 0 && added.length === 0) {
      // Typing within a line (the common case): only the lines after it move.
      for (let i = from.line + 1; i < this.starts.length; i++) this.starts[i]! += shift;
    } else {
      const after = this.starts.slice(to.line + 1);
      for (let i = 0; i < after.length; i++) after[i]! += shift;
      this.starts = this.starts.slice(0, from.line + 1).concat(added, after);
    }
    this.length += shift;
    const delta: TextOp[] = [];
    push(delta, { retain: a });
    push(delta, { delete: b - a });
    push(delta, { insert: text });
    return delta;
  }
}

/** One edit of a delta, in offsets of the text before the delta (ascending, not overlapping). */
export interface Replacement {
  from: number;
  to: number;
  insert: string;
}

/** The delta as replacements of ranges of the text before it (deletes and inserts that touch become one). */
export function replacements(delta: TextDelta): Replacement[] {
  const out: Replacement[] = [];
  let at = 0;
  for (const op of delta) {
    if ('retain' in op) at += op.retain;
    else if ('delete' in op) {
      const last = out[out.length - 1];
      if (last && last.to === at) last.to = at + op.delete;
      else out.push({ from: at, to: at + op.delete, insert: '' });
      at += op.delete;
    } else {
      const last = out[out.length - 1];
      if (last && last.to === at) last.insert += op.insert;
      else out.push({ from: at, to: at, insert: op.insert });
    }
  }
  return out;
}

/**
 * Where the person's selections belong after a collaborator's change, in Tandem's model (text
 * inserted right at a caret goes after it, as in CodeMirror 6 and the other bindings). These
 * editors move a caret past text inserted at it; the adapters put carets back where this says.
 * Null when nothing moves differently.
 */
export function mapSelections(before: readonly TextSelection[], delta: TextDelta, after: readonly TextSelection[]): TextSelection[] | null {
  const want = before.map((s) => ({ anchor: moveOffset(s.anchor, delta), head: moveOffset(s.head, delta) }));
  const same = want.length === after.length && want.every((w, i) => w.anchor === after[i]!.anchor && w.head === after[i]!.head);
  return same ? null : want;
}

/** Text with any line ends (`\r\n`, `\r`) as `\n`. */
export const toLF = (text: string): string => (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);

/** Where a position is drawn: viewport coordinates of the caret box there. */
export interface CaretBox {
  left: number;
  top: number;
  height: number;
}

/**
 * The boxes of the range [a, b) line by line, from where the editor draws carets:
 * `caret(pos)` and the content's left and right edges (a wrapped line's middle rows span them).
 */
export function lineRects(a: LinePos, b: LinePos, lineLength: (line: number) => number, caret: (pos: LinePos) => CaretBox | null, edges: () => { left: number; right: number }): Rect[] {
  const out: Rect[] = [];
  for (let line = a.line; line <= b.line; line++) {
    const s = caret({ line, ch: line === a.line ? a.ch : 0 });
    const e = caret({ line, ch: line === b.line ? b.ch : lineLength(line) });
    if (!s || !e) continue;
    // The line break a selection crosses shows as a sliver after the line's text.
    const width = (x: number, y: number): number => Math.max(line < b.line ? 4 : 0, y - x);
    if (Math.abs(e.top - s.top) < s.height / 2) {
      out.push({ left: s.left, top: s.top, width: width(s.left, e.left), height: s.height });
      continue;
    }
    // A wrapped line: to the right edge, whole rows, then from the left edge.
    const { left, right } = edges();
    out.push({ left: s.left, top: s.top, width: Math.max(0, right - s.left), height: s.height });
    for (let top = s.top + s.height; top < e.top - s.height / 2; top += s.height) out.push({ left, top, width: right - left, height: s.height });
    out.push({ left, top: e.top, width: width(left, e.left), height: e.height });
  }
  return out;
}

/**
 * Formatted text as rich bindings hold it: the text, and each UTF-16 unit's formatting. One
 * formatting object is shared by a run, so this costs a pointer per character; the texts a
 * contenteditable holds are small enough for the simple, obviously-correct representation.
 */
import { diff, push, sameAttributes, type Attributes, type TextDelta, type TextOp } from './delta';

export interface RichText {
  readonly text: string;
  /** `marks[i]`: the formatting of `text[i]` (only keys with a value; never `null`). */
  readonly marks: readonly Attributes[];
}

const NONE: Attributes = Object.freeze({});

export const emptyRich = (): RichText => ({ text: '', marks: [] });

/** Drops `null` values (an insert's formatting lists only the marks it has) and, with `known`, keys outside it. */
export function cleanAttributes(attributes: Attributes | undefined, known?: ReadonlySet<string>): Attributes {
  if (!attributes) return NONE;
  let out: Record<string, string | boolean> | null = null;
  for (const [k, v] of Object.entries(attributes)) {
    if (v === null || v === false || (known && !known.has(k))) continue;
    (out ??= {})[k] = v;
  }
  return out ?? NONE;
}

/** A rich text from a delta of inserts (Loro's `toDelta()`). */
export function richFromDelta(delta: TextDelta, known?: ReadonlySet<string>): RichText {
  return applyRich(emptyRich(), delta, known);
}

/** The rich text as a delta of inserts (runs of equal formatting). */
export function richToDelta(rich: RichText): TextDelta {
  const out: TextOp[] = [];
  for (let i = 0; i < rich.text.length; i++) {
    const m = rich.marks[i]!;
    push(out, Object.keys(m).length > 0 ? { insert: rich.text[i]!, attributes: m } : { insert: rich.text[i]! });
  }
  return out;
}

/**
 * Applies a delta. An insert without attributes is unformatted here (the document may give
 * it its neighbours' formatting: plain fields do not care, and rich bindings always say).
 * `known`: formatting keys kept (others are dropped, as a binding that cannot show them does).
 */
export function applyRich(rich: RichText, delta: TextDelta, known?: ReadonlySet<string>): RichText {
  let text = '';
  const marks: Attributes[] = [];
  let at = 0;
  for (const op of delta) {
    if ('retain' in op) {
      if (at + op.retain > rich.text.length) throw new RangeError(`retain ${op.retain} at ${at} past the end (${rich.text.length})`);
      text += rich.text.slice(at, at + op.retain);
      if (!op.attributes) for (let i = at; i < at + op.retain; i++) marks.push(rich.marks[i]!);
      else {
        let previous: Attributes | null = null;
        let changed: Attributes = NONE;
        for (let i = at; i < at + op.retain; i++) {
          const m = rich.marks[i]!;
          if (m !== previous) {
            previous = m;
            changed = cleanAttributes({ ...m, ...op.attributes }, known);
          }
          marks.push(changed);
        }
      }
      at += op.retain;
    } else if ('insert' in op) {
      text += op.insert;
      const m = cleanAttributes(op.attributes, known);
      for (let i = 0; i < op.insert.length; i++) marks.push(m);
    } else {
      if (at + op.delete > rich.text.length) throw new RangeError(`delete ${op.delete} at ${at} past the end (${rich.text.length})`);
      at += op.delete;
    }
  }
  text += rich.text.slice(at);
  for (let i = at; i < rich.text.length; i++) marks.push(rich.marks[i]!);
  return { text, marks };
}

/** The formatting change that turns `before` into `after` on a retained character (`undefined`: none). */
function change(before: Attributes, after: Attributes): Attributes | undefined {
  if (before === after || sameAttributes(before, after)) return undefined;
  const out: Record<string, string | boolean | null> = {};
  for (const k of Object.keys(before)) if (!(k in after)) out[k] = null;
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) out[k] = v;
  return out;
}

/**
 * The delta that turns `before` into `after`: the text as one splice (found at the caret when
 * given, as `diff` does), inserts with their complete formatting, formatting changes on the
 * characters kept.
 */
export function diffRich(before: RichText, after: RichText, caret?: number): TextDelta {
  const splice = diff(before.text, after.text, caret);
  let start = 0;
  let removed = 0;
  let inserted = 0;
  for (const op of splice) {
    if ('retain' in op) start = op.retain;
    else if ('delete' in op) removed = op.delete;
    else inserted = op.insert.length;
  }
  const out: TextOp[] = [];
  const keep = (from: number, to: number, shift: number): void => {
    for (let i = from; i < to; i++) {
      const c = change(before.marks[i]!, after.marks[i + shift]!);
      push(out, c ? { retain: 1, attributes: c } : { retain: 1 });
    }
  };
  keep(0, start, 0);
  push(out, { delete: removed });
  for (let i = start; i < start + inserted; i++) push(out, { insert: after.text[i]!, attributes: after.marks[i]! });
  keep(start + removed, before.text.length, inserted - removed);
  while (out.length > 0) {
    const last = out[out.length - 1]!;
    if (!('retain' in last) || last.attributes) break;
    out.pop();
  }
  return out;
}

/** True when both hold the same text with the same formatting. */
export function sameRich(a: RichText, b: RichText): boolean {
  if (a.text !== b.text) return false;
  for (let i = 0; i < a.marks.length; i++) if (a.marks[i] !== b.marks[i] && !sameAttributes(a.marks[i], b.marks[i])) return false;
  return true;
}

/**
 * Text changes as deltas (the shape Loro's text events and `applyDelta` use): a sequence of
 * retain / insert / delete over UTF-16 code units, the unit of both DOM fields and Loro's JS API.
 *
 * The extension keeps a field and its document in step across a message channel with the
 * two-party operational transform of the Jupiter system: each side applies its own edits at
 * once, and transforms what arrives against what it sent that the other side had not seen.
 * `transform` is the one function that makes that correct; its tie-break puts the `first`
 * side's insert before the other's at the same position, and both sides must agree on who is
 * first (the document side is, by convention).
 */
import { diffChars } from 'diff/lib/diff/character.js';

export type TextOp = { readonly retain: number; readonly attributes?: Attributes } | { readonly insert: string; readonly attributes?: Attributes } | { readonly delete: number };
export type TextDelta = readonly TextOp[];

/**
 * Formatting carried by rich bindings (Loro text styles). On an insert: the inserted text's
 * complete formatting (a missing `attributes` means "whatever the document gives it", which is
 * what plain fields send). On a retain: changes only, `null` removing a mark. Plain fields
 * never send attributes and ignore the ones they receive.
 */
export type Attributes = Readonly<Record<string, string | boolean | null>>;

/** True when two attribute sets hold the same keys with the same values (no set and an empty set are the same). */
export function sameAttributes(a: Attributes | undefined, b: Attributes | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!b || !(k in b) || b[k] !== a![k]) return false;
  return true;
}

const hasAttributes = (op: TextOp): boolean => 'attributes' in op && op.attributes !== undefined && Object.keys(op.attributes).length > 0;

/** A single splice as a delta: at `index`, remove `deleted` units and insert `inserted`. */
export function splice(index: number, deleted: number, inserted: string): TextDelta {
  const ops: TextOp[] = [];
  if (index > 0) ops.push({ retain: index });
  if (deleted > 0) ops.push({ delete: deleted });
  if (inserted.length > 0) ops.push({ insert: inserted });
  return ops;
}

/** True when the delta changes nothing. */
export function isNoop(delta: TextDelta): boolean {
  return delta.every((op) => ('retain' in op ? !hasAttributes(op) : 'insert' in op ? op.insert.length === 0 : op.delete === 0));
}

/** Applies `delta` to `text`. Throws on a delta that runs past the end (a broken invariant). */
export function applyDelta(text: string, delta: TextDelta): string {
  let out = '';
  let at = 0;
  for (const op of delta) {
    if ('retain' in op) {
      if (at + op.retain > text.length) throw new RangeError(`retain ${op.retain} at ${at} past the end (${text.length})`);
      out += text.slice(at, at + op.retain);
      at += op.retain;
    } else if ('insert' in op) {
      out += op.insert;
    } else {
      if (at + op.delete > text.length) throw new RangeError(`delete ${op.delete} at ${at} past the end (${text.length})`);
      at += op.delete;
    }
  }
  return out + text.slice(at);
}

/** `{ [kind]: value }` plus the attributes, if any (no `attributes: undefined` key: messages are compared and validated by keys). */
function withAttributes<T extends { retain: number } | { insert: string }>(op: T, attributes: Attributes | undefined): T & { attributes?: Attributes } {
  return attributes === undefined ? op : { ...op, attributes };
}

/** Appends `op` to `ops`, merging with the last op of the same kind (and formatting) and dropping empty ones. */
export function push(ops: TextOp[], op: TextOp): void {
  const last = ops[ops.length - 1];
  if ('retain' in op) {
    if (op.retain <= 0) return;
    if (last && 'retain' in last && sameAttributes(last.attributes, op.attributes)) ops[ops.length - 1] = withAttributes({ retain: last.retain + op.retain }, op.attributes);
    else ops.push(op);
  } else if ('insert' in op) {
    if (op.insert.length === 0) return;
    if (last && 'insert' in last && sameAttributes(last.attributes, op.attributes)) ops[ops.length - 1] = withAttributes({ insert: last.insert + op.insert }, op.attributes);
    else ops.push(op);
  } else {
    if (op.delete <= 0) return;
    if (last && 'delete' in last) ops[ops.length - 1] = { delete: last.delete + op.delete };
    else ops.push(op);
  }
}

/** Reads a delta op by op, splitting retains and deletes to the length asked for. */
class Cursor {
  private index = 0;
  private offset = 0;
  constructor(private readonly ops: TextDelta) {}

  peek(): TextOp | undefined {
    const op = this.ops[this.index];
    if (!op || this.offset === 0) return op;
    if ('retain' in op) return withAttributes({ retain: op.retain - this.offset }, op.attributes);
    if ('delete' in op) return { delete: op.delete - this.offset };
    return op;
  }

  /** Takes up to `length` units of the current retain or delete, or the whole insert. */
  take(length: number): TextOp | undefined {
    const op = this.peek();
    if (!op) return undefined;
    if ('insert' in op) {
      this.index++;
      this.offset = 0;
      return op;
    }
    const size = 'retain' in op ? op.retain : op.delete;
    if (length >= size) {
      this.index++;
      this.offset = 0;
      return op;
    }
    this.offset += length;
    return 'retain' in op ? withAttributes({ retain: length }, op.attributes) : { delete: length };
  }
}

const sizeOf = (op: TextOp): number => ('retain' in op ? op.retain : 'delete' in op ? op.delete : op.insert.length);

/**
 * `a`'s formatting of a span that `b` formatted too: where both set the same key, the `first`
 * side's value wins (as for inserts at a tie), so the other side's change of that key is dropped.
 */
function transformAttributes(a: Attributes | undefined, b: Attributes | undefined, aFirst: boolean): Attributes | undefined {
  if (!a || !b || aFirst) return a;
  const out: Record<string, string | boolean | null> = {};
  for (const [k, v] of Object.entries(a)) if (!(k in b)) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * `a` rewritten to apply after `b`, where both were made on the same text. At an insert-insert
 * tie, `aFirst` puts a's insert before b's; where both format the same span with the same key,
 * `aFirst` keeps a's value. Each side of a pair calls this with opposite `aFirst`. An insert
 * keeps its own attributes: formatting made concurrently with it does not reach it (the other
 * side retains over it plainly), which both sides agree on.
 */
export function transform(a: TextDelta, b: TextDelta, aFirst: boolean): TextDelta {
  const out: TextOp[] = [];
  const ca = new Cursor(a);
  const cb = new Cursor(b);
  for (;;) {
    const opA = ca.peek();
    const opB = cb.peek();
    if (!opA && !opB) break;
    if (opA && 'insert' in opA && (aFirst || !opB || !('insert' in opB))) {
      push(out, ca.take(Infinity)!);
      continue;
    }
    if (opB && 'insert' in opB) {
      cb.take(Infinity);
      push(out, { retain: opB.insert.length });
      continue;
    }
    // Both are retain or delete (or one side ran out: the rest of the text is retained).
    const length = Math.min(opA ? sizeOf(opA) : Infinity, opB ? sizeOf(opB) : Infinity);
    if (length === Infinity) break;
    const takenA: TextOp = opA ? ca.take(length)! : { retain: length };
    const takenB: TextOp = opB ? cb.take(length)! : { retain: length };
    if ('delete' in takenB) continue; // b removed this span: a's retain or delete of it vanishes
    if ('retain' in takenA && 'retain' in takenB) {
      push(out, withAttributes({ retain: takenA.retain }, transformAttributes(takenA.attributes, takenB.attributes, aFirst)));
      continue;
    }
    push(out, takenA); // b kept it: a's retain or delete applies as it was
  }
  // Trailing plain retains carry no meaning.
  while (out.length > 0 && 'retain' in out[out.length - 1]! && !hasAttributes(out[out.length - 1]!)) out.pop();
  return out;
}

export const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
export const isLow = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;
/** True when offset `i` of `s` falls between the two halves of a surrogate pair. */
const cutsPair = (s: string, i: number): boolean => i > 0 && i < s.length && isHigh(s.charCodeAt(i - 1)) && isLow(s.charCodeAt(i));

/**
 * True when `delta`, which turns `before` into `after`, starts or ends an op inside a surrogate
 * pair of either text. Such a delta reaches the document as a lone half, which Loro (UTF-8
 * inside) stores as U+FFFD: an editor that briefly holds half an emoji (Firefox types one as
 * two UTF-16 units) reports the second half as an insert of its own. `diff` of the two texts
 * says the same change in whole characters.
 */
export function cutsSurrogatePair(before: string, delta: TextDelta, after: string): boolean {
  let b = 0;
  let a = 0;
  for (const op of delta) {
    if (cutsPair(before, b) || cutsPair(after, a)) return true;
    if ('retain' in op) {
      b += op.retain;
      a += op.retain;
    } else if ('delete' in op) b += op.delete;
    else a += op.insert.length;
  }
  return cutsPair(before, b) || cutsPair(after, a);
}

/**
 * The splice that turns `before` into `after`. With `caret` (the selection end in `after`) a
 * plain typing or deletion at the caret is found where the user made it (typing "a" after "aa"
 * is an insert at the caret, not at the start of the run); otherwise by common prefix and
 * suffix. Never splits a surrogate pair.
 */
export function diff(before: string, after: string, caret?: number): TextDelta {
  if (before === after) return [];
  const grown = after.length - before.length;
  if (caret !== undefined) {
    const start = grown >= 0 ? caret - grown : caret;
    const removed = Math.max(0, -grown);
    if (
      start >= 0 &&
      caret <= after.length &&
      after.slice(0, start) === before.slice(0, start) &&
      after.slice(caret) === before.slice(start + removed) &&
      !isLow(before.charCodeAt(start)) &&
      !isLow(before.charCodeAt(start + removed)) &&
      // The second half of a pair typed after its first (the text held a lone half in between).
      !isLow(after.charCodeAt(start))
    ) {
      return splice(start, removed, after.slice(start, caret));
    }
  }
  const max = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (suffix < max - prefix && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix--;
  return splice(prefix, before.length - prefix - suffix, after.slice(prefix, after.length - suffix));
}

/**
 * Bounds on the minimal diff (Myers' O(ND) algorithm, which is quadratic in the worst case):
 * texts further apart than this many changed characters, or taking longer, are diffed as one
 * splice instead. Typing replayed after an interruption is far below both.
 */
const MAX_DIFF_EDITS = 5_000;
const MAX_DIFF_MS = 500;

/**
 * Every edit that turns `before` into `after`: a minimal diff (jsdiff's Myers diff by code point,
 * so a surrogate pair is never split), unlike `diff`'s one splice. Two edits far apart stay two
 * edits with the text between them retained, which is what lets `rebase` merge them with
 * someone else's edit in between. Falls back to one splice past the bounds above.
 */
export function diffAll(before: string, after: string): TextDelta {
  if (before === after) return [];
  // The common ends first (cheap, and they are most of the text when the edits are small).
  const max = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isHigh(before.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (suffix < max - prefix && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isLow(before.charCodeAt(before.length - suffix))) suffix--;
  const changes = diffChars(before.slice(prefix, before.length - suffix), after.slice(prefix, after.length - suffix), { maxEditLength: MAX_DIFF_EDITS, timeout: MAX_DIFF_MS });
  if (!changes) return diff(before, after);
  const ops: TextOp[] = [];
  push(ops, { retain: prefix });
  for (const change of changes) {
    if (change.added) push(ops, { insert: change.value });
    else if (change.removed) push(ops, { delete: change.value.length });
    else push(ops, { retain: change.value.length });
  }
  // Trailing plain retains carry no meaning.
  while (ops.length > 0 && 'retain' in ops[ops.length - 1]!) ops.pop();
  return ops;
}

/**
 * Three-way merge of plain texts: the edits that turned `base` into `mine`, rewritten to apply
 * to `theirs` (which also started from `base`). Used to replay typing that could not be sent.
 * Both sides are diffed with `diffAll`: one splice per side scrambled edits made on either
 * side of someone else's ("A quick brown…" became "REDA quick…").
 */
export function rebase(base: string, mine: string, theirs: string): TextDelta {
  return transform(diffAll(base, mine), diffAll(base, theirs), false);
}

/** Where a caret at `offset` goes after `delta`: moved by what was inserted or deleted before it (text inserted right at the caret goes after it). */
export function moveOffset(offset: number, delta: TextDelta): number {
  let old = 0;
  let shift = 0;
  for (const op of delta) {
    if (old > offset) break;
    if ('retain' in op) old += op.retain;
    else if ('insert' in op) {
      if (old < offset) shift += op.insert.length;
    } else {
      if (old < offset) shift -= Math.min(op.delete, offset - old);
      old += op.delete;
    }
  }
  return offset + shift;
}

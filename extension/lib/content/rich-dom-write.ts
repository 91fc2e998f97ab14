/**
 * Formatted-text changes made to a contenteditable in place (the paragraph model is in rich-dom.ts):
 * a typed character goes into the text node that is there, formatting splits and wraps only the
 * text it covers, a new line splits its block; the caret, the page's listeners and unrelated
 * nodes stay.
 */
import { cleanAttributes, type RichText } from '../../../shared/text/rich';
import { sameAttributes, type Attributes, type TextDelta } from '../../../shared/text/delta';
import { STYLE_KEYS } from '../../../shared/document';
import { NONE, SAFE_HREF, isBlock, isPlaceholder, markOf, pointAfter, pointAt, pointBefore, readLayout, segmentAt, type Layout, type Point } from './rich-dom';

/** Innermost first: a new mark wraps the ones already around the text, so a link ends up outermost. */
const WRAP_ORDER = ['code', 'strike', 'underline', 'italic', 'bold', 'link'] as const;
const TAG_OF: Record<(typeof WRAP_ORDER)[number], string> = { code: 'code', strike: 's', underline: 'u', italic: 'em', bold: 'strong', link: 'a' };

function elementFor(key: (typeof WRAP_ORDER)[number], value: string | boolean): HTMLElement {
  const el = document.createElement(TAG_OF[key]);
  if (key === 'link') {
    const href = String(value);
    if (SAFE_HREF.test(href)) el.setAttribute('href', href);
    else el.setAttribute('data-tandem-link', href); // shown as a link's text, never followed
  }
  return el;
}

/** The start of character `i` (a deletion's start). */
function startOf(layout: Layout, i: number): Point {
  const s = segmentAt(layout, i);
  if (s.kind === 'text') return { node: s.node!, offset: i - s.start };
  if (s.kind === 'br') return pointBefore(s.node!);
  return s.before!;
}

/** The end of character `i - 1` (a deletion's end). */
function endOf(layout: Layout, i: number): Point {
  const s = segmentAt(layout, i - 1);
  if (s.kind === 'text') return { node: s.node!, offset: i - s.start };
  if (s.kind === 'br') return pointAfter(s.node!);
  return s.after!;
}

/** The nearest block around `n` inside `root`, or `root`. */
function blockOf(n: Node, root: HTMLElement): Node {
  let x: Node | null = n;
  while (x && x !== root) {
    if (isBlock(x)) return x;
    x = x.parentNode;
  }
  return root;
}

/** The child of `root` that holds `n`. */
function topBelow(n: Node, root: Node): Node {
  let x = n;
  while (x.parentNode && x.parentNode !== root) x = x.parentNode;
  return x;
}

/** The formatting the known elements around `n` give it. */
function marksOf(n: Node, root: HTMLElement): Attributes {
  const out: Record<string, string | true> = {};
  for (let x = n.parentNode; x && x !== root; x = x.parentNode) {
    if (x.nodeType !== Node.ELEMENT_NODE) continue;
    const m = markOf(x as Element);
    if (m && !(m[0] in out)) out[m[0]] = m[1];
  }
  return out;
}

/** Whether a block holds anything that draws a line (text or a <br>). */
const hasContent = (block: Node): boolean => (block.textContent ?? '').length > 0 || (block as Element).querySelector?.('br') != null;

function cloneShallow(el: Node): Node {
  const c = el.cloneNode(false);
  if (c instanceof Element) c.removeAttribute('id'); // ids stay unique: the original keeps it
  return c;
}

/** Splits the inline elements around `t` (up to its block) so that each holds only `t`'s branch. */
function isolate(t: Node, root: HTMLElement): void {
  let child: Node = t;
  while (child.parentNode && child.parentNode !== root && !isBlock(child.parentNode)) {
    const parent = child.parentNode as Element;
    if (child.previousSibling) {
      const before = cloneShallow(parent);
      while (parent.firstChild !== child) before.appendChild(parent.firstChild!);
      parent.before(before);
    }
    if (child.nextSibling) {
      const after = cloneShallow(parent);
      while (child.nextSibling) after.appendChild(child.nextSibling);
      parent.after(after);
    }
    child = parent;
  }
}

/** Gives text node `t` exactly the formatting `target`: unwraps the known elements that disagree, wraps in the missing ones. */
function setMarks(t: Text, target: Attributes, root: HTMLElement): void {
  if (sameAttributes(marksOf(t, root), target)) return;
  isolate(t, root);
  for (let x: Node | null = t.parentNode; x && x !== root && !isBlock(x); ) {
    const parent: Node | null = x.parentNode;
    const m = x.nodeType === Node.ELEMENT_NODE ? markOf(x as Element) : null;
    if (m && target[m[0]] !== m[1]) (x as Element).replaceWith(...Array.from(x.childNodes));
    x = parent;
  }
  const present = marksOf(t, root);
  let outer: Node = t;
  for (const key of WRAP_ORDER) {
    const value = target[key];
    if (value === undefined || value === null || present[key] === value) continue;
    const wrapper = elementFor(key, value);
    outer.parentNode!.replaceChild(wrapper, outer);
    wrapper.append(outer);
    outer = wrapper;
  }
}

function insertAt(p: Point, n: Node): void {
  if (p.node.nodeType === Node.TEXT_NODE) {
    const t = p.node as Text;
    if (p.offset === 0) t.before(n);
    else if (p.offset >= t.length) t.after(n);
    else t.splitText(p.offset).before(n);
  } else p.node.insertBefore(n, p.node.childNodes[p.offset] ?? null);
}

function insertRun(root: HTMLElement, at: number, text: string, marks: Attributes, plain: boolean): void {
  const layout = readLayout(root, plain);
  const p = pointAt(layout, at);
  if (p.node.nodeType === Node.TEXT_NODE && (plain || sameAttributes(marksOf(p.node, root), marks))) {
    (p.node as Text).insertData(p.offset, text);
    return;
  }
  // At the end of differently formatted text: the next text may be formatted like this run.
  if (at < layout.rich.text.length) {
    const next = segmentAt(layout, at);
    if (next.kind === 'text' && next.start === at && sameAttributes(marksOf(next.node!, root), marks)) {
      (next.node as Text).insertData(0, text);
      return;
    }
  }
  const t = document.createTextNode(text);
  insertAt(p, t);
  if (!plain) setMarks(t, marks, root);
}

/** The <br> that is character `at - 1`, if it is one: an edit right after it can leave it last on its line. */
function breakBefore(layout: Layout, at: number): Node | null {
  if (at <= 0) return null;
  const s = segmentAt(layout, at - 1);
  return s.kind === 'br' ? s.node : null;
}

/** A <br> that an edit left last on its line would stop drawing its newline: give the line a placeholder after it. */
function keepBreak(br: Node | null, root: HTMLElement): void {
  if (br?.isConnected && isPlaceholder(br, root)) (br as Element).after(document.createElement('br'));
}

function insertBreak(root: HTMLElement, at: number, plain: boolean): void {
  const layout = readLayout(root, plain);
  const p = pointAt(layout, at);
  const block = blockOf(p.node, root);
  const previous = breakBefore(layout, at);
  if (block !== root) {
    const range = document.createRange();
    range.setStart(p.node, p.offset);
    range.setEnd(block, block.childNodes.length);
    const tail = range.extractContents();
    const next = cloneShallow(block);
    next.appendChild(tail);
    (block as Element).after(next);
    if (!hasContent(block)) block.appendChild(document.createElement('br'));
    if (!hasContent(next)) next.appendChild(document.createElement('br'));
    keepBreak(previous, root);
    return;
  }
  const br = document.createElement('br');
  insertAt(p, br);
  if (isPlaceholder(br, root)) br.after(document.createElement('br')); // the line after it needs one to exist
}

function deleteSpan(root: HTMLElement, from: number, to: number, plain: boolean): void {
  const layout = readLayout(root, plain);
  const start = startOf(layout, from);
  const end = endOf(layout, to);
  const previous = breakBefore(layout, from);
  if (start.node === end.node && start.node.nodeType === Node.TEXT_NODE) {
    (start.node as Text).deleteData(start.offset, end.offset - start.offset); // the browser keeps the caret
  } else {
    const first = blockOf(start.node, root);
    const last = blockOf(end.node, root);
    // What starts the second line: it stays (it is after the range) and is found again after.
    const tail: Node | null = end.node.nodeType === Node.TEXT_NODE ? end.node : (end.node.childNodes[end.offset] ?? null);
    const range = document.createRange();
    range.setStart(start.node, start.offset);
    range.setEnd(end.node, end.offset);
    range.deleteContents();
    // The line break between two blocks went: the second line's content joins the first line,
    // at the first line's end (outside the formatting the deletion started in).
    if (first !== last && last.isConnected && (last === root || !last.contains(first))) {
      const moved = document.createDocumentFragment();
      if (last !== root) {
        while (last.firstChild) moved.appendChild(last.firstChild);
      } else {
        // The second line is loose content in the element after a block: up to the next block.
        let n: Node | null = tail ? topBelow(tail, root) : end.node === root ? null : topBelow(end.node, root).nextSibling;
        while (n && !isBlock(n)) {
          const next: Node | null = n.nextSibling;
          moved.appendChild(n);
          n = next;
        }
      }
      if (first === root) {
        const top = start.node === root ? null : topBelow(start.node, root);
        if (top) (top as ChildNode).after(moved);
        else root.insertBefore(moved, root.childNodes[start.offset] ?? null);
      } else first.appendChild(moved);
      let gone: Node | null = last === root ? null : last;
      while (gone && gone !== root && gone.childNodes.length === 0) {
        const parent: Node | null = gone.parentNode;
        (gone as Element).remove();
        gone = parent;
      }
    }
    if (first !== root && first.isConnected && !hasContent(first)) first.appendChild(document.createElement('br'));
  }
  keepBreak(previous, root);
  // A line left empty outside any block (text before a <div>, Chrome's first line) has no
  // element to hold it: a placeholder <br> keeps it.
  if (readLayout(root, plain).rich.text.length < layout.rich.text.length - (to - from) && start.node.isConnected) insertAt(start, document.createElement('br'));
}

/** Removes formatting elements that our splitting and deleting left empty (only those: a page's own empty elements may mean something to it). */
function dropEmptyMarks(root: HTMLElement): void {
  for (const el of Array.from(root.querySelectorAll('b,strong,i,em,u,ins,s,strike,del,code,a'))) {
    if (el.childNodes.length === 0 || (el.textContent === '' && el.querySelector('br,img') === null)) el.remove();
  }
}

/** Applies a delta to the element (the caller checks the result and restores the selection). */
export function applyToElement(root: HTMLElement, delta: TextDelta, plain: boolean): void {
  try {
    applyOps(root, delta, plain);
  } finally {
    dropEmptyMarks(root);
  }
}

function applyOps(root: HTMLElement, delta: TextDelta, plain: boolean): void {
  let at = 0;
  for (const op of delta) {
    if ('retain' in op) {
      if (op.attributes && !plain) formatSpan(root, at, at + op.retain, op.attributes);
      at += op.retain;
    } else if ('delete' in op) {
      if (op.delete > 0) deleteSpan(root, at, at + op.delete, plain);
    } else {
      const marks = plain ? NONE : cleanAttributes(op.attributes, STYLE_KEYS);
      const lines = op.insert.split('\n');
      lines.forEach((piece, i) => {
        if (i > 0) {
          insertBreak(root, at, plain);
          at += 1;
        }
        if (piece.length > 0) {
          insertRun(root, at, piece, marks, plain);
          at += piece.length;
        }
      });
    }
  }
}

function formatSpan(root: HTMLElement, from: number, to: number, change: Attributes): void {
  const layout = readLayout(root, false);
  const parts: { node: Text; from: number; to: number }[] = [];
  for (const s of layout.segments) {
    if (s.kind !== 'text' || s.start + s.length <= from || s.start >= to) continue;
    parts.push({ node: s.node as Text, from: Math.max(from, s.start) - s.start, to: Math.min(to, s.start + s.length) - s.start });
  }
  for (const part of parts) {
    let t = part.node;
    if (part.to < t.length) t.splitText(part.to);
    if (part.from > 0) t = t.splitText(part.from);
    // Newlines inside a text node (pre-wrapped text) carry no formatting: split them out.
    const current = marksOf(t, root);
    const target = cleanAttributes({ ...current, ...change }, STYLE_KEYS);
    for (const piece of splitNewlines(t)) if (piece.data !== '\n') setMarks(piece, target, root);
  }
}

function splitNewlines(t: Text): Text[] {
  const out: Text[] = [];
  let rest = t;
  for (;;) {
    const i = rest.data.indexOf('\n');
    if (i < 0 || rest.length === 1) {
      out.push(rest);
      return out;
    }
    if (i > 0) {
      const tail = rest.splitText(i);
      out.push(rest);
      rest = tail;
      continue;
    }
    const tail = rest.splitText(1);
    out.push(rest);
    rest = tail;
  }
}

/**
 * Last resort when a change could not be made in place (a page's markup we do not model):
 * the element's content is written again from the text. Never expected; logged.
 */
export function rewriteElement(root: HTMLElement, rich: RichText, plain: boolean): void {
  console.warn('[tandem] rewriting the field from the document');
  root.replaceChildren();
  let at = 0;
  while (at < rich.text.length) {
    const m = rich.marks[at]!;
    let end = at + 1;
    while (end < rich.text.length && rich.marks[end] === m && rich.text[end] !== '\n' && rich.text[at] !== '\n') end++;
    const insert = { insert: rich.text.slice(at, end), attributes: plain ? {} : m };
    applyToElement(root, at > 0 ? [{ retain: at }, insert] : [insert], plain);
    at = end;
  }
}

/**
 * A contenteditable element as formatted text (rich-dom-write.ts makes changes to it in place).
 *
 * The paragraph model (how lines map to the DOM), chosen to read what browsers write when
 * people type (Chrome: `abc<div>def</div>`, `<div><br></div>` for an empty line; Firefox:
 * `<br>` or `<div>`s; pages: `<p>`s) and to write it back the same way:
 *  - a text node is its characters;
 *  - `<br>` is '\n', except a placeholder `<br>`: the last thing on its line (nothing but a
 *    block boundary or the end follows it), which browsers add to keep a line from collapsing
 *    and which draws no line break of its own;
 *  - a block element (div, p, li, h1…) starts a new line: one '\n' between a block and any
 *    content before or after it ("virtual" newlines: no DOM node holds them); an empty block is
 *    an empty line;
 *  - formatting is the known inline elements around a character (b/strong, i/em, u/ins,
 *    s/strike/del, code, a[href]); everything else (styles, spans, classes, images) is kept in
 *    the DOM but is not part of the shared text, and newlines carry no formatting.
 * Remote changes are made with ranges on the existing nodes: a typed character goes into the
 * text node that is there, formatting splits and wraps only the text it covers, a new line
 * splits its block. The caret, the page's listeners and unrelated nodes stay.
 */
import type { RichText } from '../../../shared/text/rich';
import type { Attributes } from '../../../shared/text/delta';

export interface Point {
  node: Node;
  offset: number;
}

interface Segment {
  start: number;
  kind: 'text' | 'br' | 'break';
  /** The text node or the <br>; none for a virtual newline. */
  node: Node | null;
  length: number;
  /** Virtual newline: the end of the line before it, and the start of the line after it. */
  before: Point | null;
  after: Point | null;
}

export interface Layout {
  rich: RichText;
  segments: Segment[];
  /** Where an empty text's first line is (an empty block, a placeholder), else the element's start. */
  firstLine: Point;
  /** Model offsets of the points asked for (a selection's ends), or null where a point was not inside. */
  offsets: (number | null)[];
}

export const NONE: Attributes = Object.freeze({});

const BLOCKS = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DIV',
  'DL',
  'DT',
  'FIELDSET',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'FORM',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'TABLE',
  'TBODY',
  'TD',
  'TFOOT',
  'TH',
  'THEAD',
  'TR',
  'UL',
]);
/** Elements whose text is not text the person sees. */
const SKIPPED = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT']);

export const isBlock = (n: Node): boolean => n.nodeType === Node.ELEMENT_NODE && BLOCKS.has((n as Element).tagName);

/** Link targets we make clickable; anything else (javascript:, data:) is kept as data only. */
export const SAFE_HREF = /^(https?:|mailto:|#|\/)/i;

/** The formatting key an element stands for, and its value. */
export function markOf(el: Element): [string, string | true] | null {
  switch (el.tagName) {
    case 'B':
    case 'STRONG':
      return ['bold', true];
    case 'I':
    case 'EM':
      return ['italic', true];
    case 'U':
    case 'INS':
      return ['underline', true];
    case 'S':
    case 'STRIKE':
    case 'DEL':
      return ['strike', true];
    case 'CODE':
      return ['code', true];
    case 'A': {
      const href = el.getAttribute('data-tandem-link') ?? el.getAttribute('href');
      return href === null ? null : ['link', href];
    }
    default:
      return null;
  }
}

/** The first thing in `n` (in document order): content (text, <br>), a block boundary, or nothing. */
function firstContent(n: Node): 'content' | 'block' | 'none' {
  if (n.nodeType === Node.TEXT_NODE) return (n as Text).length > 0 ? 'content' : 'none';
  if (n.nodeType !== Node.ELEMENT_NODE) return 'none';
  const el = n as Element;
  if (el.tagName === 'BR') return 'content';
  if (BLOCKS.has(el.tagName)) return 'block';
  if (SKIPPED.has(el.tagName)) return 'none';
  for (let c = el.firstChild; c; c = c.nextSibling) {
    const r = firstContent(c);
    if (r !== 'none') return r;
  }
  return 'none';
}

/** A <br> that ends its line (browsers' placeholder): no newline of its own. */
export function isPlaceholder(br: Node, root: Node): boolean {
  let n: Node = br;
  for (;;) {
    while (!n.nextSibling) {
      const parent = n.parentNode;
      if (!parent || parent === root || isBlock(parent)) return true;
      n = parent;
    }
    n = n.nextSibling;
    const r = firstContent(n);
    if (r === 'content') return false;
    if (r === 'block') return true;
  }
}

const indexOf = (n: Node): number => Array.prototype.indexOf.call(n.parentNode!.childNodes, n);
export const pointBefore = (n: Node): Point => ({ node: n.parentNode!, offset: indexOf(n) });
export const pointAfter = (n: Node): Point => ({ node: n.parentNode!, offset: indexOf(n) + 1 });

/** Reads the element. `plain`: no formatting (plaintext-only hosts). `points`: DOM points to turn into offsets. */
export function readLayout(root: HTMLElement, plain: boolean, points: Point[] = []): Layout {
  let text = '';
  const marks: Attributes[] = [];
  const segments: Segment[] = [];
  const offsets: (number | null)[] = points.map(() => null);
  let pending = false;
  let any = false;
  let lastEnd: Point = { node: root, offset: 0 };
  let firstLine: Point | null = null;
  /** Lines and characters seen so far (to tell an empty block). */
  let count = 0;

  const flush = (here: Point): void => {
    if (pending && any) {
      segments.push({ start: text.length, kind: 'break', node: null, length: 1, before: lastEnd, after: here });
      text += '\n';
      marks.push(NONE);
    }
    pending = false;
  };
  const line = (here: Point): void => {
    // An empty line (placeholder or empty block): it counts, but holds nothing.
    flush(here);
    count++;
    firstLine ??= here;
    any = true;
    lastEnd = here;
  };
  const mark = (node: Node, offset: number, value: number): void => {
    for (let i = 0; i < points.length; i++) if (offsets[i] === null && points[i]!.node === node && points[i]!.offset === offset) offsets[i] = value;
  };
  const here = (): number => text.length + (pending && any ? 1 : 0);

  // `parent` and `index`: where `node` is (computing a <br>'s index from scratch made reading
  // quadratic in the number of lines of a <br>-separated text).
  const visit = (node: Node, inherited: Attributes, parent: Node | null, index: number): void => {
    if (node.nodeType === Node.TEXT_NODE) {
      const t = node as Text;
      if (t.length === 0) {
        mark(t, 0, here());
        return;
      }
      flush({ node: t, offset: 0 });
      for (let i = 0; i < points.length; i++) if (offsets[i] === null && points[i]!.node === t) offsets[i] = text.length + Math.min(points[i]!.offset, t.length);
      segments.push({ start: text.length, kind: 'text', node: t, length: t.length, before: null, after: null });
      count++;
      // Browsers type a no-break space where a plain one would collapse (line ends, runs of
      // spaces) and swap it back later: it is a space, as in a textarea.
      text += t.data.replace(/\u00a0/g, ' ');
      for (let i = 0; i < t.length; i++) marks.push(t.data.charCodeAt(i) === 10 ? NONE : inherited);
      any = true;
      firstLine ??= { node: t, offset: 0 };
      lastEnd = { node: t, offset: t.length };
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const el = node as Element;
    if (SKIPPED.has(el.tagName)) return;
    if (el.tagName === 'BR' && parent) {
      const before = { node: parent, offset: index };
      if (isPlaceholder(el, root)) {
        line(before);
        return;
      }
      flush(before);
      segments.push({ start: text.length, kind: 'br', node: el, length: 1, before: null, after: null });
      count++;
      text += '\n';
      marks.push(NONE);
      any = true;
      firstLine ??= before;
      lastEnd = { node: parent, offset: index + 1 };
      return;
    }
    const block = el !== root && BLOCKS.has(el.tagName);
    if (block && any) pending = true;
    let own = inherited;
    if (!plain) {
      const m = markOf(el);
      if (m && inherited[m[0]] !== m[1]) own = { ...inherited, [m[0]]: m[1] };
    }
    const before = count;
    let i = 0;
    for (let c = el.firstChild; c; c = c.nextSibling, i++) {
      mark(el, i, here());
      visit(c, own, el, i);
    }
    mark(el, i, here());
    if (block) {
      if (count === before) line({ node: el, offset: 0 }); // an empty block is an empty line
      if (any) pending = true;
    }
  };
  visit(root, NONE, null, 0);
  for (let i = 0; i < offsets.length; i++) if (offsets[i] !== null) offsets[i] = Math.min(offsets[i]!, text.length);
  return { rich: { text, marks }, segments, firstLine: firstLine ?? { node: root, offset: 0 }, offsets };
}

/** The segment holding model character `i`. */
export function segmentAt(layout: Layout, i: number): Segment {
  const s = layout.segments;
  let lo = 0;
  let hi = s.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s[mid]!.start <= i) lo = mid;
    else hi = mid - 1;
  }
  return s[lo]!;
}

/** Where the caret for model offset `i` goes: after character i-1, inside its formatting (the way typing continues it). */
export function pointAt(layout: Layout, i: number): Point {
  if (i <= 0 || layout.segments.length === 0) {
    const first = layout.segments[0];
    if (!first || layout.rich.text.length === 0) return layout.firstLine;
    if (first.kind === 'text') return { node: first.node!, offset: 0 };
    if (first.kind === 'br') return pointBefore(first.node!);
    return first.before!;
  }
  const s = segmentAt(layout, Math.min(i, layout.rich.text.length) - 1);
  if (s.kind === 'text') return { node: s.node!, offset: Math.min(i, layout.rich.text.length) - s.start };
  if (s.kind === 'br') return pointAfter(s.node!);
  return s.after!;
}

/** The DOM range between two text offsets of `layout` (null where the DOM cannot hold one). */
export function rangeAt(layout: Layout, start: number, end: number, doc: Document): Range | null {
  const a = pointAt(layout, start);
  const b = pointAt(layout, end);
  const range = doc.createRange();
  try {
    range.setStart(a.node, a.offset);
    range.setEnd(b.node, b.offset);
  } catch {
    return null;
  }
  return range;
}

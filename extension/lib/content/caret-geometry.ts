/**
 * Where text offsets are on screen, in viewport coordinates.
 *
 * Textareas and inputs expose no geometry for their text, so a hidden mirror element copies the
 * field's computed text style and box, holds the same text, and is scrolled like the field: a
 * span around the wanted text then has the client rects the field's text has (the technique of
 * component/textarea-caret-position). The mirror lives in our shadow root, so page CSS cannot
 * reach it; every property that shapes text is copied explicitly.
 *
 * Contenteditable elements have real DOM text: an `OffsetToRange` maps offsets to a Range. The
 * default walks text nodes and counts their characters; a binding whose text model differs (the
 * rich-text binding counts block breaks, embeds…) passes its own.
 */
import type { TextField } from './field-binding';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Maps [start, end) offsets of a contenteditable root's text to a DOM Range (null: out of range). */
export type OffsetToRange = (root: HTMLElement, start: number, end: number) => Range | null;

/** The simple mapping: offsets count the characters of the root's text nodes, in document order. */
export const textNodeOffsetToRange: OffsetToRange = (root, start, end) => {
  const walker = root.ownerDocument.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = root.ownerDocument.createRange();
  let seen = 0;
  let startSet = false;
  let last: Text | null = null;
  for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
    last = node;
    const length = node.data.length;
    if (!startSet && start <= seen + length) {
      range.setStart(node, start - seen);
      startSet = true;
    }
    if (startSet && end <= seen + length) {
      range.setEnd(node, end - seen);
      return range;
    }
    seen += length;
  }
  if (!startSet && start === 0 && !last) {
    range.setStart(root, 0); // empty editor: the caret sits at its start
    range.setEnd(root, 0);
    return range;
  }
  return null;
};

/** Text style and box properties the mirror copies (what changes where glyphs land). */
const COPIED = [
  'direction',
  'boxSizing',
  'paddingTop',
  'paddingRight',
  'paddingBottom',
  'paddingLeft',
  'fontStyle',
  'fontVariant',
  'fontWeight',
  'fontStretch',
  'fontSize',
  'fontSizeAdjust',
  'lineHeight',
  'fontFamily',
  'fontFeatureSettings',
  'fontKerning',
  'fontVariantLigatures',
  'textAlign',
  'textTransform',
  'textIndent',
  'textRendering',
  'letterSpacing',
  'wordSpacing',
  'tabSize',
  'wordBreak',
  'overflowWrap',
  'hyphens',
] as const;

/** Geometry of text in a textarea or input through one reusable mirror element. */
export class FieldMirror {
  private readonly mirror: HTMLDivElement;

  constructor(container: HTMLElement | ShadowRoot) {
    this.mirror = document.createElement('div');
    this.mirror.setAttribute('aria-hidden', 'true');
    const s = this.mirror.style;
    s.position = 'fixed';
    s.visibility = 'hidden';
    s.pointerEvents = 'none';
    s.overflow = 'hidden';
    s.border = '0';
    s.margin = '0';
    container.append(this.mirror);
  }

  /**
   * The client rects of [start, end) in `field` (one per line; a collapsed range gives one
   * zero-width rect: the caret), in viewport coordinates, as the field shows them now.
   */
  rects(field: TextField, start: number, end: number): Box[] {
    const cs = getComputedStyle(field);
    const s = this.mirror.style;
    for (const p of COPIED) s[p] = cs[p];
    const rect = field.getBoundingClientRect();
    // The mirror has the field's client width (inside the border, without scrollbars), so its
    // text wraps the same way, and is shifted by the field's scroll offsets instead of being
    // scrolled: then it needs no text past the end of the wanted paragraph.
    const isInput = field instanceof HTMLInputElement;
    s.boxSizing = 'border-box';
    s.left = `${rect.left + field.clientLeft - field.scrollLeft}px`;
    s.top = `${rect.top + field.clientTop - field.scrollTop}px`;
    s.width = isInput ? 'auto' : `${field.clientWidth}px`;
    s.minWidth = `${field.clientWidth}px`;
    s.height = isInput ? `${field.clientHeight}px` : 'auto';
    s.overflow = 'visible';
    s.whiteSpace = isInput ? 'pre' : 'pre-wrap';
    if (!isInput) s.overflowWrap = cs.overflowWrap === 'normal' ? 'break-word' : cs.overflowWrap; // textareas wrap long words
    if (isInput) {
      // An input centres its one line vertically in its content box.
      const content = field.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
      s.lineHeight = `${content}px`;
    }
    const value = field.value;
    const from = Math.max(0, Math.min(start, value.length));
    const to = Math.max(from, Math.min(end, value.length));
    const span = document.createElement('span');
    span.textContent = value.slice(from, to);
    // After the range only its paragraph matters (where its last line wraps); a trailing
    // newline needs something after it to make its line exist.
    const paragraphEnd = value.indexOf('\n', to);
    const after = paragraphEnd < 0 ? value.slice(to) : value.slice(to, paragraphEnd);
    this.mirror.replaceChildren(document.createTextNode(value.slice(0, from)), span, document.createTextNode(`${after}\u200b`));
    const out = [...span.getClientRects()].map((r) => ({ left: r.left, top: r.top, width: r.width, height: r.height }));
    this.mirror.replaceChildren();
    return out;
  }
}

/** The client rects of a Range (a collapsed range: its caret). Never changes the DOM (the editor owns it). */
export function rangeRects(range: Range): Box[] {
  if (!range.collapsed) return textRects(range).map(box);
  const rects = [...range.getClientRects()].map(box);
  if (rects.length > 0) return rects;
  // A collapsed range has no rect of its own at an element boundary (a line's start after a
  // <br>, an empty line, an empty editor): the caret is at the edge of what is next to it.
  const caret = caretAt(range.startContainer, range.startOffset);
  return caret ? [caret] : [];
}

const box = (r: DOMRect): Box => ({ left: r.left, top: r.top, width: r.width, height: r.height });
const at = (left: number, r: DOMRect | Box): Box => ({ left, top: r.top, width: 0, height: r.height });

/** The caret at a DOM point: the start of what follows it, else the end of what precedes it, else the start of the empty element it is in. */
function caretAt(node: Node, offset: number): Box | null {
  if (node instanceof Text) {
    if (offset < node.data.length) {
      const r = charRect(node, offset);
      if (r) return at(r.left, r);
    }
    if (offset > 0) {
      const r = charRect(node, offset - 1);
      if (r) return at(r.right, r);
    }
    return (node.nextSibling && startOf(node.nextSibling)) ?? (node.previousSibling && endOf(node.previousSibling)) ?? null;
  }
  const after = node.childNodes[offset];
  const before = node.childNodes[offset - 1];
  return (after && startOf(after)) ?? (before && endOf(before)) ?? (node instanceof Element ? contentStart(node) : null);
}

/** The rect of character `i` of a text node (none where it is not rendered: collapsed white space). */
function charRect(text: Text, i: number): DOMRect | null {
  const range = text.ownerDocument.createRange();
  range.setStart(text, i);
  range.setEnd(text, i + 1);
  const r = range.getClientRects()[0];
  return r && r.height > 0 ? r : null;
}

/** Where a caret before `node` is: its first character's left edge, a <br>'s own box, an element's first content (or its start when empty). */
function startOf(node: Node): Box | null {
  if (node instanceof Text) {
    for (let i = 0; i < node.data.length; i++) {
      const r = charRect(node, i);
      if (r) return at(r.left, r);
    }
    return null;
  }
  if (!(node instanceof Element)) return null;
  if (node.tagName === 'BR') {
    const r = node.getBoundingClientRect();
    return r.height > 0 ? at(r.left, r) : null;
  }
  for (let c = node.firstChild; c; c = c.nextSibling) {
    const found = startOf(c);
    if (found) return found;
  }
  return contentStart(node);
}

/** Where a caret after `node` is: its last character's right edge, or the end of an element's last content. */
function endOf(node: Node): Box | null {
  if (node instanceof Text) {
    for (let i = node.data.length - 1; i >= 0; i--) {
      const r = charRect(node, i);
      if (r) return at(r.right, r);
    }
    return null;
  }
  if (!(node instanceof Element)) return null;
  if (node.tagName === 'BR') {
    const r = node.getBoundingClientRect();
    return r.height > 0 ? at(r.left, r) : null;
  }
  for (let c = node.lastChild; c; c = c.previousSibling) {
    const found = endOf(c);
    if (found) return found;
  }
  return contentStart(node);
}

/** The start of an element's content box, one line high (an empty block or editor). */
function contentStart(el: Element): Box | null {
  const r = el.getBoundingClientRect();
  if (r.height === 0 && r.width === 0) return null;
  const cs = getComputedStyle(el);
  const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.2 || r.height;
  return { left: r.left + el.clientLeft + parseFloat(cs.paddingLeft || '0'), top: r.top + el.clientTop + parseFloat(cs.paddingTop || '0'), width: 0, height: Math.min(line, r.height) };
}

/**
 * The rects of the text in a range, one per line: a range's own client rects also include the
 * boxes of elements it contains, which would paint nested formatting twice.
 */
function textRects(range: Range): DOMRect[] {
  const root = range.commonAncestorContainer;
  const doc = root.ownerDocument ?? document;
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const out: DOMRect[] = [];
  const first = root instanceof Text ? root : walker.nextNode();
  for (let node = first as Text | null; node; node = walker.nextNode() as Text | null) {
    if (!range.intersectsNode(node)) continue;
    const part = doc.createRange();
    part.selectNodeContents(node);
    if (node === range.startContainer) part.setStart(node, range.startOffset);
    if (node === range.endContainer) part.setEnd(node, range.endOffset);
    for (const r of part.getClientRects()) {
      if (r.width === 0) continue;
      const last = out.at(-1);
      // The same line: widen the previous rect instead of adding one.
      if (last && Math.abs(last.top - r.top) <= 1 && Math.abs(last.height - r.height) <= 1 && r.left <= last.right + 1) {
        out[out.length - 1] = new DOMRect(last.left, Math.min(last.top, r.top), Math.max(last.right, r.right) - last.left, Math.max(last.height, r.height));
      } else out.push(r);
    }
    if (node === range.endContainer) break;
  }
  return out;
}

/** The visible client box of a field (inside border and scrollbars), to clip what is drawn over it. */
export function clientBox(el: HTMLElement): Box {
  const rect = el.getBoundingClientRect();
  return { left: rect.left + el.clientLeft, top: rect.top + el.clientTop, width: el.clientWidth, height: el.clientHeight };
}

/**
 * Quill 2. Quill keeps its instances in a module-level WeakMap keyed by the container, not on
 * the DOM. A page that loads Quill from a script tag has `window.Quill`, whose `find` reads that
 * map; a page that bundles Quill has no global, so the instance is caught as Quill looks it up
 * itself: its emitter listens to the document's `selectionchange` and looks up every
 * `.ql-container` in that map, so `WeakMap.prototype.get` is wrapped for the one synchronous
 * dispatch of that event and put back at once (see `catchInstance`).
 *
 * Quill's model is a delta with a `\n` ending every line (and one more at the very end), block
 * formats (headers, lists) on that `\n`; Tandem's text is Quill's text without that last `\n`,
 * and embeds (images, videos, formulas) are not text (zero length there, one in Quill).
 * Changes go in as `updateContents(…, 'api')` with the history module set to record the
 * person's changes only (`userOnly`); its undo and redo (toolbar handlers, the editor's
 * `beforeinput`) are Tandem's. Local changes come from every `text-change`.
 */
import type { Attributes } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, rangeRects, type AdapterFactory, type EditorAdapter, type RichEdits } from '../adapter';

type QuillAttributes = Record<string, unknown>;
interface QuillOp {
  insert?: string | Record<string, unknown>;
  retain?: number;
  delete?: number;
  attributes?: QuillAttributes;
}
interface Blot {
  length(): number;
  position(offset: number, inclusive?: boolean): [Node, number];
}
interface History {
  options: { userOnly?: boolean };
  undo(): void;
  redo(): void;
}
interface Quill {
  container: HTMLElement;
  root: HTMLElement;
  scroll: { query?(name: string): unknown };
  history?: History;
  getContents(index?: number, length?: number): { ops: QuillOp[] };
  getLength(): number;
  getIndex(blot: Blot): number;
  getLine(index: number): [Blot | null, number];
  getLeaf(index: number): [Blot | null, number];
  getBounds(index: number, length?: number): { left: number; top: number; height: number } | null;
  updateContents(ops: QuillOp[], source: string): unknown;
  setSelection(index: number, length: number, source: string): void;
  hasFocus(): boolean;
  update(source?: string): unknown;
  on(event: string, handler: (...args: unknown[]) => void): unknown;
  off(event: string, handler: (...args: unknown[]) => void): unknown;
  selection: { getRange(): [{ index: number; length: number } | null, unknown]; savedRange?: { index: number; length: number } };
}

/** Tandem's marks have Quill's own names (link: the href). */
const MARKS = ['bold', 'italic', 'underline', 'strike', 'code', 'link'] as const;

const isQuill = (value: unknown, container: HTMLElement): value is Quill =>
  typeof value === 'object' &&
  value !== null &&
  (value as Quill).container === container &&
  typeof (value as Quill).updateContents === 'function' &&
  typeof (value as Quill).getContents === 'function';

/** Quill's instance for a `.ql-container`, through `window.Quill` or by catching Quill's own lookup. */
function findQuill(container: HTMLElement): Quill | string {
  // Quill 1 keeps its instance on the container (Quill 2 in a WeakMap), and its `find` answers
  // with it: refused first, whether the page has a `window.Quill` or not.
  if ((container as { __quill?: unknown }).__quill) return 'Quill 1 editors are not supported yet';
  const global = (window as { Quill?: { find?(node: Node): unknown } }).Quill;
  if (typeof global?.find === 'function') {
    const found = global.find(container);
    if (isQuill(found, container)) return found;
  }
  return catchInstance(container);
}

/**
 * Catches the instance as Quill's document `selectionchange` listener looks it up. The wrapper
 * only watches: every lookup gets its own answer, and the prototype is put back before this
 * returns. The event is one more `selectionchange` for the page, which it treats as any other
 * (the selection has not moved).
 */
function catchInstance(container: HTMLElement): Quill | string {
  const proto = WeakMap.prototype;
  const original = proto.get;
  let caught: Quill | null = null;
  try {
    proto.get = function (this: WeakMap<object, unknown>, key: object) {
      const value = original.call(this, key);
      if (key === container && isQuill(value, container)) caught = value;
      return value;
    };
  } catch (error) {
    return `Quill's instance cannot be reached on this page (${(error as Error).message})`;
  }
  try {
    document.dispatchEvent(new Event('selectionchange'));
  } finally {
    proto.get = original;
  }
  return caught ?? 'Quill was found, but not its instance';
}

export const quill: AdapterFactory = (root, events) => {
  const container = (root.closest('.ql-container') as HTMLElement | null) ?? root;
  const found = findQuill(container);
  if (typeof found === 'string') return found;
  const q = found;
  const styles = new Set<string>(MARKS.filter((m) => (typeof q.scroll.query === 'function' ? q.scroll.query(m) != null : true)));

  // Tandem offsets of the embeds (sorted): each is one unit in Quill, none in Tandem's text.
  let embeds: number[] = [];
  let embedsKnown = false;
  const read = () => {
    const out = new RichTextBuilder(styles);
    const found: number[] = [];
    let offset = 0;
    out.line();
    const ops = q.getContents().ops;
    ops.forEach((op, i) => {
      if (typeof op.insert !== 'string') {
        if (op.insert) found.push(offset);
        return;
      }
      const marks = (op.attributes ?? {}) as Attributes;
      const text = i === ops.length - 1 && op.insert.endsWith('\n') ? op.insert.slice(0, -1) : op.insert;
      let start = 0;
      for (let n = text.indexOf('\n'); n !== -1; n = text.indexOf('\n', start)) {
        out.add(text.slice(start, n), marks);
        out.line();
        start = n + 1;
      }
      out.add(text.slice(start), marks);
      offset += text.length;
    });
    embeds = found;
    embedsKnown = true;
    return out.done();
  };
  const known = (): number[] => {
    if (!embedsKnown) read();
    return embeds;
  };
  /** Quill's index of a Tandem offset, after the embeds there (before them with `before`). */
  const indexOf = (offset: number, before = false): number => {
    let index = offset;
    for (const e of known()) {
      if (e < offset || (e === offset && !before)) index++;
      else break;
    }
    return index;
  };
  const offsetOf = (index: number): number => {
    let offset = index;
    known().forEach((e, i) => {
      if (e + i < index) offset--;
    });
    return offset;
  };
  /** The block formats of the line at `index` (on its `\n`), and where that `\n` is. */
  const lineEnd = (index: number): { at: number; formats: QuillAttributes } => {
    const [line, offset] = q.getLine(index);
    if (!line) return { at: index, formats: {} };
    const at = index - offset + line.length() - 1;
    const op = q.getContents(at, 1).ops[0];
    return { at, formats: typeof op?.insert === 'string' ? (op.attributes ?? {}) : {} };
  };

  const onText = (): void => {
    embedsKnown = false;
    events.changed();
  };
  const onSelection = (): void => events.selected();
  q.on('text-change', onText);
  q.on('selection-change', onSelection);

  // The history keeps only the person's changes, and its undo and redo are Tandem's: the toolbar
  // handlers and `beforeinput` call these. (Its keyboard bindings hold the original methods, but
  // the content script takes Ctrl+Z before Quill sees it.)
  const history = q.history;
  const userOnly = history?.options.userOnly;
  const ownUndo = history && Object.hasOwn(history, 'undo');
  const ownRedo = history && Object.hasOwn(history, 'redo');
  const undo = history?.undo;
  const redo = history?.redo;
  if (history) {
    history.options.userOnly = true;
    history.undo = () => events.undo(false);
    history.redo = () => events.undo(true);
  }

  const edit = (ops: QuillOp[]): void => {
    q.updateContents(ops, 'api');
    embedsKnown = false; // read again for the next edit (they see each other's effect)
  };
  const quillMarks = (marks: Attributes): QuillAttributes => {
    const out: QuillAttributes = {};
    for (const [k, v] of Object.entries(marks)) if (styles.has(k)) out[k] = v === false ? null : v;
    return out;
  };
  const edits: RichEdits = {
    remove(from, to) {
      const a = indexOf(from);
      const b = indexOf(to, true);
      // Lines joined keep the first line's block format, as Quill's Backspace and Delete do.
      const first = lineEnd(a);
      const joins = first.at < b;
      edit([{ retain: a }, { delete: b - a }]);
      if (!joins) return;
      const merged = lineEnd(a);
      const change: QuillAttributes = {};
      let differs = false;
      for (const k of Object.keys(merged.formats)) {
        if (k in first.formats) continue;
        change[k] = null;
        differs = true;
      }
      for (const [k, v] of Object.entries(first.formats)) {
        if (merged.formats[k] === v) continue;
        change[k] = v;
        differs = true;
      }
      if (differs) edit([{ retain: merged.at }, { retain: 1, attributes: change }]);
    },
    insert(at, text, marks) {
      const attributes = quillMarks(marks);
      edit([{ retain: indexOf(at) }, Object.keys(attributes).length > 0 ? { insert: text, attributes } : { insert: text }]);
    },
    split(at) {
      // Both halves keep the line's block format, as Enter does.
      const index = indexOf(at);
      const { formats } = lineEnd(index);
      edit([{ retain: index }, Object.keys(formats).length > 0 ? { insert: '\n', attributes: formats } : { insert: '\n' }]);
    },
    format(from, to, marks) {
      const attributes = quillMarks(marks);
      if (Object.keys(attributes).length === 0) return;
      // Text only: the embeds inside the range keep their own formats.
      let start = from;
      for (const e of [...known().filter((e) => e > from && e < to), to]) {
        if (e > start) {
          const a = indexOf(start);
          edit([{ retain: a }, { retain: indexOf(e, true) - a, attributes }]);
        }
        start = e;
      }
    },
  };

  const adapter: EditorAdapter = {
    rich: true,
    styles,
    read,
    apply(delta) {
      const { text } = read();
      applyAsEdits(delta, text, edits);
    },
    selection(): TextSelection | null {
      // Not `getSelection()`: it reads pending DOM changes first, and would report them from inside this call.
      const range = q.selection.getRange()[0] ?? q.selection.savedRange ?? null;
      if (!range) return null;
      const start = offsetOf(range.index);
      const end = offsetOf(range.index + range.length);
      const dom = document.getSelection();
      const backward =
        range.length > 0 &&
        !!dom?.anchorNode &&
        !!dom.focusNode &&
        (dom.anchorNode === dom.focusNode ? dom.focusOffset < dom.anchorOffset : (dom.anchorNode.compareDocumentPosition(dom.focusNode) & Node.DOCUMENT_POSITION_PRECEDING) !== 0);
      return backward ? { anchor: end, head: start } : { anchor: start, head: end };
    },
    select({ anchor, head }) {
      const length = q.getLength() - 1;
      const a = Math.min(indexOf(Math.min(anchor, head)), length);
      const b = Math.min(indexOf(Math.max(anchor, head), true), length);
      q.setSelection(a, Math.max(0, b - a), 'api');
      if (anchor > head) {
        // Quill sets forward selections only; the person's was backward.
        const dom = document.getSelection();
        const range = dom && dom.rangeCount > 0 ? dom.getRangeAt(0) : null;
        if (dom && range) dom.setBaseAndExtent(range.endContainer, range.endOffset, range.startContainer, range.startOffset);
      }
    },
    rects(from, to): Rect[] {
      const last = q.getLength() - 1;
      const a = Math.min(indexOf(from), last);
      if (from === to) {
        const b = q.getBounds(a, 0);
        if (!b) return [];
        const c = q.container.getBoundingClientRect();
        return [{ left: c.left + b.left, top: c.top + b.top, width: 0, height: b.height }];
      }
      const b = Math.min(indexOf(to, true), last);
      const [startLeaf, startOffset] = q.getLeaf(a);
      const [endLeaf, endOffset] = q.getLeaf(b);
      if (!startLeaf || !endLeaf) return [];
      const range = document.createRange();
      range.setStart(...startLeaf.position(startOffset, true));
      range.setEnd(...endLeaf.position(endOffset, true));
      return rangeRects(range);
    },
    // Typing reaches Quill's model from its DOM in a mutation observer: read it now.
    flush: () => void q.update('user'),
    focused: () => q.hasFocus(),
    destroy() {
      q.off('text-change', onText);
      q.off('selection-change', onSelection);
      if (!history) return;
      history.options.userOnly = userOnly;
      if (ownUndo) history.undo = undo!;
      else delete (history as Partial<History>).undo;
      if (ownRedo) history.redo = redo!;
      else delete (history as Partial<History>).redo;
    },
  };
  return adapter;
};

/**
 * ProseMirror, and editors built on it (Tiptap, whose editor sits on the view's DOM as
 * `editor`). A bare ProseMirror view is not reachable from its DOM; the adapter finds it by
 * catching the view as ProseMirror passes it to its own document view's `update` (see
 * `catchView`), which a no-op touch of the editor's DOM makes it do.
 *
 * Changes go in as one transaction per remote change, kept out of the undo history
 * (`addToHistory: false`, which prosemirror-history and Tiptap honour) and mapped by ProseMirror
 * over the person's selection; changes come out of every state the view takes on.
 */
import type { Attributes } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, rangeRects, type AdapterFactory, type EditorAdapter, type RichEdits } from '../adapter';

interface MarkType {
  name: string;
  create(attrs?: Record<string, unknown>): Mark;
}
interface Mark {
  type: MarkType;
  attrs: Record<string, unknown>;
}
interface NodeType {
  name: string;
  spec: { code?: boolean };
}
interface PMNode {
  type: NodeType;
  nodeSize: number;
  childCount: number;
  child(i: number): PMNode;
  text?: string;
  marks: readonly Mark[];
  isText: boolean;
  isTextblock: boolean;
  isLeaf: boolean;
  content: { size: number };
  resolve(pos: number): unknown;
}
interface Schema {
  marks: Record<string, MarkType>;
  text(text: string, marks?: readonly Mark[]): PMNode;
}
interface Selection {
  anchor: number;
  head: number;
  from: number;
  to: number;
  constructor: { near?: ($pos: unknown) => Selection; create?: (doc: PMNode, anchor: number, head: number) => Selection };
}
interface Transaction {
  doc: PMNode;
  delete(from: number, to: number): Transaction;
  insert(pos: number, node: PMNode): Transaction;
  insertText(text: string, pos: number): Transaction;
  split(pos: number, depth?: number): Transaction;
  addMark(from: number, to: number, mark: Mark): Transaction;
  removeMark(from: number, to: number, mark: MarkType): Transaction;
  setSelection(selection: Selection): Transaction;
  setMeta(key: string, value: unknown): Transaction;
  getMeta(key: string): unknown;
}
interface EditorState {
  doc: PMNode;
  selection: Selection;
  schema: Schema;
  tr: Transaction;
  plugins?: readonly { key?: unknown }[];
}
interface View {
  state: EditorState;
  dom: HTMLElement;
  dispatch(tr: Transaction): void;
  updateState(state: EditorState): void;
  setProps(props: object): void;
  hasFocus(): boolean;
  focus(): void;
  coordsAtPos(pos: number, side?: number): { left: number; top: number; bottom: number };
  domAtPos(pos: number): { node: Node; offset: number };
  domObserver?: { flush?(): void };
  isDestroyed?: boolean;
}

/** Tandem's mark → the names ProseMirror schemas give it (prosemirror-schema-basic, Tiptap, common ones). */
const MARK_NAMES: Record<string, readonly string[]> = {
  bold: ['strong', 'bold', 'b'],
  italic: ['em', 'italic', 'i'],
  underline: ['underline', 'u'],
  strike: ['strike', 'strikethrough', 's', 'del'],
  code: ['code'],
  link: ['link', 'a'],
};
/** A hard line break inside a block is a `\n` of the text. */
const HARD_BREAKS = new Set(['hard_break', 'hardBreak', 'br', 'linebreak']);
const META = 'tandem';

function reachableView(root: HTMLElement): View | null {
  const tiptap = (root as { editor?: { view?: View } }).editor?.view;
  if (tiptap?.dom === root && typeof tiptap.dispatch === 'function') return tiptap;
  return null;
}

/**
 * Catches a bare ProseMirror view: its document view's prototype `update` is called with the
 * view on every redraw, and touching one of its text nodes (same text) makes its DOM observer
 * mark that node dirty and redraw. The prototype is put back at once.
 */
export function catchView(root: HTMLElement): Promise<View | null> {
  const desc = (root as { pmViewDesc?: object }).pmViewDesc;
  if (!desc) return Promise.resolve(null);
  let proto: Record<string, unknown> | null = Object.getPrototypeOf(desc) as Record<string, unknown>;
  while (proto && !Object.hasOwn(proto, 'update')) proto = Object.getPrototypeOf(proto) as Record<string, unknown> | null;
  if (!proto) return Promise.resolve(null);
  const owner = proto;
  const original = owner.update as (...args: unknown[]) => unknown;
  let caught: View | null = null;
  owner.update = function (this: unknown, ...args: unknown[]) {
    const view = args[3] as View | undefined;
    if (view && view.dom === root && !caught) caught = view;
    return original.apply(this, args);
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const text = walker.nextNode() as Text | null;
  // biome-ignore lint/correctness/noSelfAssign: a write of the same text is what makes ProseMirror's DOM observer look at the node
  if (text) text.data = text.data;
  else {
    const probe = document.createTextNode('');
    root.append(probe);
    probe.remove();
  }
  return new Promise((resolve) => {
    // ProseMirror reads DOM changes in its mutation observer's callback (a microtask) or on its next event.
    setTimeout(() => {
      owner.update = original;
      resolve(caught);
    }, 0);
  });
}

/** Where each line (textblock) is: its offset in the text, its content's start in the document, and its inline pieces. */
interface Line {
  start: number;
  pos: number;
  length: number;
  code: boolean;
  /** Inline pieces in order: text and hard breaks count in the text; atoms do not (tLen 0, size 1). */
  pieces: { offset: number; pos: number; tLen: number; size: number }[];
}

function linesOf(doc: PMNode): Line[] {
  const lines: Line[] = [];
  let offset = 0;
  const visit = (node: PMNode, pos: number): void => {
    // `pos`: the position just inside `node` (its content's start).
    if (node.isTextblock) {
      if (lines.length > 0) offset += 1; // the `\n` between lines
      const line: Line = { start: offset, pos, length: 0, code: node.type.spec.code === true, pieces: [] };
      let at = pos;
      for (let i = 0; i < node.childCount; i++) {
        const child = node.child(i);
        const tLen = child.isText ? child.text!.length : HARD_BREAKS.has(child.type.name) ? 1 : 0;
        line.pieces.push({ offset: offset + line.length, pos: at, tLen, size: child.nodeSize });
        line.length += tLen;
        at += child.nodeSize;
      }
      offset += line.length;
      lines.push(line);
      return;
    }
    if (node.isLeaf) return; // a block atom (rule, image): not text
    let at = pos;
    for (let i = 0; i < node.childCount; i++) {
      const child = node.child(i);
      visit(child, at + 1);
      at += child.nodeSize;
    }
  };
  visit(doc, 0);
  return lines;
}

/** The document position of a text offset; `before` an atom at that offset or after it. */
function positionAt(lines: Line[], offset: number, bias: 'before' | 'after'): number {
  for (const line of lines) {
    if (offset > line.start + line.length) continue;
    let pos = line.pos;
    for (const piece of line.pieces) {
      const end = piece.offset + piece.tLen;
      if (piece.tLen === 0) {
        if (piece.offset < offset || (piece.offset === offset && bias === 'after')) pos = piece.pos + piece.size;
        continue;
      }
      if (offset < piece.offset || (offset === piece.offset && bias === 'before')) break; // before the atoms there
      if (offset <= end) return offset === end && bias === 'after' ? piece.pos + piece.size : piece.pos + (offset - piece.offset);
      pos = piece.pos + piece.size;
    }
    return pos;
  }
  const last = lines[lines.length - 1];
  return last ? last.pieces.reduce((p, piece) => p + piece.size, last.pos) : 0;
}

/** The text offset of a document position (positions between lines go to the nearest line end). */
function offsetAt(lines: Line[], pos: number): number {
  let result = 0;
  for (const line of lines) {
    if (pos < line.pos) return result === 0 ? line.start : result;
    let offset = line.start;
    for (const piece of line.pieces) {
      if (pos < piece.pos + piece.size) return piece.tLen === 0 ? offset : offset + Math.min(pos - piece.pos, piece.tLen);
      offset += piece.tLen;
    }
    result = line.start + line.length;
  }
  return result;
}

export const prosemirrorWithView = (view: View, events: Parameters<AdapterFactory>[1]): EditorAdapter | string => {
  // A site that syncs its editor itself (Yjs through y-prosemirror: Tiptap's Collaboration,
  // Liveblocks, Hocuspocus apps) would send Tandem's changes to its own collaborators, and theirs
  // come back as this person's typing: with two Tandem users, every change twice.
  if (view.state.plugins?.some((p) => typeof p.key === 'string' && p.key.startsWith('y-sync$'))) return 'this editor is already collaborative (the site syncs it itself)';
  const schema = view.state.schema;
  const markTypes = new Map<string, MarkType>();
  const toTandem = new Map<string, string>();
  for (const [style, names] of Object.entries(MARK_NAMES)) {
    const name = names.find((n) => schema.marks[n]);
    if (!name) continue;
    markTypes.set(style, schema.marks[name]!);
    toTandem.set(name, style);
  }
  const styles = new Set(markTypes.keys());
  let ours = false;

  const marksOf = (marks: readonly Mark[]): Attributes => {
    const out: Record<string, string | boolean> = {};
    for (const m of marks) {
      const style = toTandem.get(m.type.name);
      if (!style) continue;
      out[style] = style === 'link' ? String(m.attrs.href ?? '') : true;
    }
    return out;
  };
  const marksFor = (attributes: Attributes): Mark[] => {
    const out: Mark[] = [];
    for (const [style, value] of Object.entries(attributes)) {
      const type = markTypes.get(style);
      if (type && value !== null && value !== false) out.push(type.create(style === 'link' ? { href: String(value) } : undefined));
    }
    return out;
  };

  const read = () => {
    const out = new RichTextBuilder(styles);
    const visit = (node: PMNode): void => {
      if (node.isTextblock) {
        out.line();
        for (let i = 0; i < node.childCount; i++) {
          const child = node.child(i);
          if (child.isText) out.add(child.text!, marksOf(child.marks));
          else if (HARD_BREAKS.has(child.type.name)) out.add('\n', {});
        }
        return;
      }
      if (!node.isLeaf) for (let i = 0; i < node.childCount; i++) visit(node.child(i));
    };
    visit(view.state.doc);
    return out.done();
  };

  // Every new state: by the default dispatch, a page's dispatchTransaction, Tiptap, or setProps.
  const patched: ['updateState' | 'setProps', boolean, (...args: never[]) => void][] = [];
  for (const method of ['updateState', 'setProps'] as const) {
    const own = Object.hasOwn(view, method);
    const original = view[method] as (...args: never[]) => void;
    patched.push([method, own, original]);
    (view as unknown as Record<string, unknown>)[method] = function (this: View, ...args: never[]) {
      const doc = this.state.doc;
      const selection = this.state.selection;
      original.apply(this, args);
      if (ours) return;
      if (this.state.doc !== doc) events.changed();
      else if (this.state.selection !== selection) events.selected();
    };
  }

  const dispatch = (tr: Transaction): void => {
    ours = true;
    try {
      view.dispatch(tr.setMeta('addToHistory', false).setMeta(META, true));
    } finally {
      ours = false;
    }
  };

  const textSelection = (doc: PMNode, anchor: number, head: number): Selection | null => {
    const current = view.state.selection;
    const Base = (Object.getPrototypeOf(current.constructor) as Selection['constructor'] | null)?.near ? (Object.getPrototypeOf(current.constructor) as Selection['constructor']) : current.constructor;
    const near = Base.near?.(doc.resolve(head));
    const Text = near?.constructor;
    return Text?.create ? Text.create(doc, anchor, head) : null;
  };

  return {
    rich: true,
    styles,
    read,
    apply(delta) {
      const tr = view.state.tr;
      const edits: RichEdits = {
        remove(from, to) {
          const lines = linesOf(tr.doc);
          tr.delete(positionAt(lines, from, 'after'), positionAt(lines, to, 'before'));
        },
        insert(at, text, marks) {
          tr.insert(positionAt(linesOf(tr.doc), at, 'before'), schema.text(text, marksFor(marks)));
        },
        split(at) {
          const lines = linesOf(tr.doc);
          const pos = positionAt(lines, at, 'before');
          const line = lines.find((l) => at >= l.start && at <= l.start + l.length);
          // A code block keeps its lines as text; other blocks split in two of the same kind.
          if (line?.code) tr.insertText('\n', pos);
          else tr.split(pos);
        },
        format(from, to, marks) {
          const lines = linesOf(tr.doc);
          const a = positionAt(lines, from, 'after');
          const b = positionAt(lines, to, 'before');
          for (const [style, value] of Object.entries(marks)) {
            const type = markTypes.get(style);
            if (!type) continue;
            if (value === null || value === false) tr.removeMark(a, b, type);
            else tr.addMark(a, b, type.create(style === 'link' ? { href: String(value) } : undefined));
          }
        },
      };
      applyAsEdits(delta, read().text, edits);
      dispatch(tr);
    },
    selection(): TextSelection {
      const lines = linesOf(view.state.doc);
      const { anchor, head } = view.state.selection;
      return { anchor: offsetAt(lines, anchor), head: offsetAt(lines, head) };
    },
    select({ anchor, head }) {
      const lines = linesOf(view.state.doc);
      const selection = textSelection(view.state.doc, positionAt(lines, anchor, 'before'), positionAt(lines, head, 'before'));
      if (selection) dispatch(view.state.tr.setSelection(selection));
    },
    rects(from, to): Rect[] {
      const lines = linesOf(view.state.doc);
      const a = positionAt(lines, from, 'before');
      const b = positionAt(lines, to, 'before');
      try {
        if (a === b) {
          const c = view.coordsAtPos(a);
          return [{ left: c.left, top: c.top, width: 0, height: c.bottom - c.top }];
        }
        const start = view.domAtPos(a);
        const end = view.domAtPos(b);
        const range = document.createRange();
        range.setStart(start.node, start.offset);
        range.setEnd(end.node, end.offset);
        return rangeRects(range);
      } catch {
        return [];
      }
    },
    flush() {
      view.domObserver?.flush?.(); // typing ProseMirror has not read from its DOM yet
    },
    focused: () => view.hasFocus(),
    destroy() {
      for (const [method, own, original] of patched) {
        if (own) (view as unknown as Record<string, unknown>)[method] = original;
        else delete (view as unknown as Record<string, unknown>)[method];
      }
    },
  };
};

/** Views caught by `catchView`, for attaching after the catch (the attach call itself is synchronous). */
export const caughtViews = new WeakMap<HTMLElement, View>();

export const prosemirror: AdapterFactory = (root, events) => {
  const editorRoot = (root.closest('.ProseMirror') as HTMLElement | null) ?? root;
  const view = reachableView(editorRoot) ?? caughtViews.get(editorRoot) ?? null;
  if (!view) return 'this ProseMirror editor does not let Tandem reach its view';
  if (view.isDestroyed) return 'this ProseMirror editor was destroyed';
  return prosemirrorWithView(view, events);
};

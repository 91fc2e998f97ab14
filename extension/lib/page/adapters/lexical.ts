/**
 * Lexical. Its root element holds the editor (`__lexicalEditor`). The editor state is a tree of
 * nodes (a map of keys to nodes linked by `__first`/`__next`): block elements whose children
 * are inline (paragraphs, headings, quotes, list items) are Tandem's lines, the others
 * (lists, tables) hold lines; a line break node is a `\n` of the text; decorators (images,
 * mentions) are not text. Text formats bold, italic, underline, strikethrough and code are
 * Tandem's marks. Links are left as they are: their text is text, their address is not shared
 * (a link is an element around text in Lexical, not a format, and @lexical/link's own commands
 * are not reachable from the page).
 *
 * Changes go in as discrete updates (committed before `editor.update` returns) tagged
 * 'historic', 'collaboration' and 'skip-scroll-into-view': the history plugin keeps them out of
 * its stacks and the person's caret and scroll are not moved. Lexical's history is a stack of
 * whole editor states, so its undo would take collaborators' changes back too: its undo and
 * redo commands (toolbar buttons, `editor.dispatchCommand`) run Tandem's while bound. Local
 * changes come from the update listener (every update that is not ours).
 */
import { moveOffset, type Attributes } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, pointRects, type AdapterFactory, type EditorAdapter, type RichEdits, holdsFocus } from '../adapter';

interface LNode {
  readonly __key: string;
  readonly __type: string;
  readonly __parent: string | null;
  readonly __next: string | null;
  readonly __first?: string | null;
  readonly __text?: string;
  readonly __format?: number;
  isInline?(): boolean;
  decorate?: unknown;
  remove(preserveEmptyParent?: boolean): void;
  insertBefore(node: LNode): LNode;
  insertAfter(node: LNode): LNode;
  select(anchor?: number, focus?: number): RangeSelection;
  // Text nodes
  splitText?(...offsets: number[]): LNode[];
  setFormat?(format: number): LNode;
  getFormat?(): number;
  // Element nodes
  append?(...nodes: LNode[]): LNode;
  getChildren?(): LNode[];
}
interface Point {
  key: string;
  offset: number;
  type: 'text' | 'element';
  set(key: string, offset: number, type: 'text' | 'element'): void;
}
interface RangeSelection {
  anchor: Point;
  focus: Point;
  insertParagraph?(): unknown;
}
interface EditorState {
  _nodeMap: Map<string, LNode>;
  _selection: RangeSelection | { anchor?: undefined } | null;
  read<T>(fn: () => T, options?: { editor: LexicalEditor }): T;
}
interface RegisteredNode {
  klass: new (...args: unknown[]) => LNode;
  replace?: ((node: LNode) => LNode) | null;
}
interface LexicalEditor {
  _nodes: Map<string, RegisteredNode>;
  _commands: Map<{ type?: string }, unknown>;
  _pendingEditorState: EditorState | null;
  getEditorState(): EditorState;
  getRootElement(): HTMLElement | null;
  getElementByKey(key: string): HTMLElement | null;
  update(fn: () => void, options?: { discrete?: true; tag?: string | string[] }): void;
  registerUpdateListener(listener: (payload: { tags: Set<string>; editorState: EditorState; prevEditorState: EditorState }) => void): () => void;
  registerCommand(command: object, listener: () => boolean, priority: number): () => void;
  isEditable?(): boolean;
}

/** Lexical's text format bits for Tandem's marks (lexical/src/LexicalConstants.ts). */
const FORMATS: Record<string, number> = { bold: 1, italic: 2, strike: 4, underline: 8, code: 16 };
const STYLES: ReadonlySet<string> = new Set(Object.keys(FORMATS));
const TAG = 'tandem';
const TAGS = [TAG, 'historic', 'collaboration', 'skip-scroll-into-view'];
const COMMAND_PRIORITY_CRITICAL = 4;

/** One piece of a line: text (its length), a line break (1), or a decorator (0). */
interface Leaf {
  node: LNode;
  start: number;
  tLen: number;
  kind: 'text' | 'break' | 'atom';
}
interface Line {
  node: LNode;
  start: number;
  length: number;
  leaves: Leaf[];
}
/** Where the text is: its lines, and the [start, end] of every node in text offsets. */
interface Layout {
  lines: Line[];
  spans: Map<string, [number, number]>;
}

const isElement = (node: LNode): boolean => '__first' in node && typeof node.isInline === 'function';
const isText = (node: LNode): boolean => typeof node.__text === 'string';
const isDecorator = (node: LNode): boolean => typeof node.decorate === 'function';
const isInline = (node: LNode): boolean => {
  try {
    return node.isInline?.() === true;
  } catch {
    return false;
  }
};

function childrenOf(map: Map<string, LNode>, node: LNode): LNode[] {
  const out: LNode[] = [];
  for (let key = node.__first ?? null; key !== null; ) {
    const child = map.get(key);
    if (!child) break;
    out.push(child);
    key = child.__next;
  }
  return out;
}

function layoutOf(state: EditorState): Layout {
  const map = state._nodeMap;
  const lines: Line[] = [];
  const spans = new Map<string, [number, number]>();
  let offset = 0;
  const isLine = (el: LNode): boolean => childrenOf(map, el).every((c) => isInline(c) || (!isElement(c) && !isDecorator(c)) || (isDecorator(c) && isInline(c)));
  const inline = (node: LNode, line: Line): void => {
    const start = offset;
    if (isText(node)) add(line, node, node.__text!.length, 'text');
    else if (node.__type === 'linebreak') add(line, node, 1, 'break');
    else if (isElement(node)) for (const child of childrenOf(map, node)) inline(child, line);
    else add(line, node, 0, 'atom');
    spans.set(node.__key, [start, offset]);
  };
  const add = (line: Line, node: LNode, tLen: number, kind: Leaf['kind']): void => {
    line.leaves.push({ node, start: offset, tLen, kind });
    offset += tLen;
    line.length += tLen;
  };
  const block = (node: LNode): void => {
    if (!isElement(node)) {
      spans.set(node.__key, [offset, offset]); // a block decorator: not text
      return;
    }
    if (node.__key !== 'root' && isLine(node)) {
      if (lines.length > 0) offset += 1;
      const line: Line = { node, start: offset, length: 0, leaves: [] };
      for (const child of childrenOf(map, node)) inline(child, line);
      lines.push(line);
      spans.set(node.__key, [line.start, offset]);
      return;
    }
    const start = lines.length > 0 ? offset + 1 : offset;
    for (const child of childrenOf(map, node)) block(child);
    spans.set(node.__key, [Math.min(start, offset), offset]);
  };
  const root = map.get('root');
  if (root) block(root);
  return { lines, spans };
}

function lineAt(layout: Layout, offset: number): Line {
  const line = layout.lines.find((l) => offset <= l.start + l.length) ?? layout.lines[layout.lines.length - 1];
  if (!line) throw new Error('this Lexical editor holds no line to write into');
  return line;
}

export const lexical: AdapterFactory = (root, events) => {
  const editorRoot = (root.closest('[data-lexical-editor]') as HTMLElement | null) ?? root;
  const editor = (editorRoot as { __lexicalEditor?: LexicalEditor | null }).__lexicalEditor;
  if (!editor || typeof editor.update !== 'function' || typeof editor.registerUpdateListener !== 'function' || !(editor._nodes instanceof Map)) return 'Lexical was found, but not its editor';
  if (editor.getRootElement() !== editorRoot) return 'this Lexical editor is not attached to the element';
  // Lexical's own read-only state (its React component mirrors it on the element; a page of plain Lexical may not).
  if (editor.isEditable?.() === false) return 'the page shows it read-only';
  const textNode = editor._nodes.get('text');
  const lineBreak = editor._nodes.get('linebreak');
  if (!textNode || !lineBreak) return 'this Lexical editor has no text nodes Tandem knows';
  const styles = STYLES;

  /** A new node of a registered type, through the editor's node replacement (as `$createTextNode` makes one). */
  const create = (registered: RegisteredNode, ...args: unknown[]): LNode => {
    const node = new registered.klass(...args);
    return registered.replace ? registered.replace(node) : node;
  };
  const marksOf = (format: number): Attributes => {
    const out: Record<string, boolean> = {};
    for (const [mark, bit] of Object.entries(FORMATS)) if (format & bit) out[mark] = true;
    return out;
  };
  const withMarks = (format: number, marks: Attributes): number => {
    let out = format;
    for (const [mark, value] of Object.entries(marks)) {
      const bit = FORMATS[mark];
      if (bit === undefined) continue;
      out = value === null || value === false ? out & ~bit : out | bit;
    }
    return out;
  };

  const committed = (): Layout => layoutOf(editor.getEditorState());
  /** The state being built inside our update. */
  const pending = (): EditorState => {
    const state = editor._pendingEditorState;
    if (!state) throw new Error('Lexical has no update under way');
    return state;
  };

  const read = () => {
    const out = new RichTextBuilder(styles);
    for (const line of committed().lines) {
      out.line();
      for (const leaf of line.leaves) {
        if (leaf.kind === 'text') out.add(leaf.node.__text!, marksOf(leaf.node.__format ?? 0));
        else if (leaf.kind === 'break') out.add('\n', {});
      }
    }
    return out.done();
  };

  /** The text offset of a selection point. */
  const offsetOf = (layout: Layout, map: Map<string, LNode>, point: { key: string; offset: number; type: string }): number | null => {
    const span = layout.spans.get(point.key);
    if (!span) return null;
    if (point.type === 'text') return Math.min(span[0] + point.offset, span[1]);
    const node = map.get(point.key);
    if (!node) return null;
    const child = childrenOf(map, node)[point.offset];
    return child ? (layout.spans.get(child.__key)?.[0] ?? span[1]) : span[1];
  };

  /** A selection point for a text offset: in a text node where there is one, else between a line's children. */
  const pointAt = (layout: Layout, map: Map<string, LNode>, offset: number): { key: string; offset: number; type: 'text' | 'element' } => {
    const line = lineAt(layout, offset);
    const text = line.leaves.find((l) => l.kind === 'text' && offset >= l.start && offset <= l.start + l.tLen);
    if (text) return { key: text.node.__key, offset: offset - text.start, type: 'text' };
    const children = childrenOf(map, line.node);
    let index = 0;
    for (const child of children) {
      const span = layout.spans.get(child.__key);
      if (!span || span[1] > offset || (span[0] === offset && span[1] === offset)) break;
      index++;
    }
    return { key: line.node.__key, offset: index, type: 'element' };
  };

  /** Sets the selection inside an update. */
  const setSelection = (anchor: number, head: number): void => {
    const state = pending();
    const layout = layoutOf(state);
    const a = pointAt(layout, state._nodeMap, anchor);
    const h = pointAt(layout, state._nodeMap, head);
    const node = state._nodeMap.get(a.key);
    if (!node) return;
    const selection = node.select(a.offset, a.offset);
    selection.anchor.set(a.key, a.offset, a.type);
    selection.focus.set(h.key, h.offset, h.type);
  };

  /** Makes a node boundary at `offset` (splits the text node it falls inside). */
  const cut = (offset: number): void => {
    const line = lineAt(layoutOf(pending()), offset);
    const leaf = line.leaves.find((l) => l.kind === 'text' && offset > l.start && offset < l.start + l.tLen);
    leaf?.node.splitText?.(offset - leaf.start);
  };

  /** Removes the pieces of `line` in [from, to): text and breaks inside, decorators strictly inside. */
  const removeIn = (line: Line, from: number, to: number): void => {
    for (const leaf of line.leaves) {
      const inside = leaf.tLen > 0 ? leaf.start >= from && leaf.start + leaf.tLen <= to : leaf.start > from && leaf.start < to;
      if (inside) leaf.node.remove();
    }
  };

  /** A node inserted at `offset`: before what starts there (decorators included), or at the line's end. */
  const insertNode = (offset: number, node: LNode): void => {
    cut(offset);
    const layout = layoutOf(pending());
    const line = lineAt(layout, offset);
    const map = pending()._nodeMap;
    const next = line.leaves.find((l) => l.start >= offset && (l.start > offset || l.tLen > 0 || l.kind !== 'text'));
    if (!next) {
      line.node.append!(node);
      return;
    }
    // Before an inline element's first piece: before the element (a link does not grow at its start).
    let target = next.node;
    for (let parent = map.get(target.__parent ?? ''); parent && parent.__key !== line.node.__key && parent.__first === target.__key; parent = map.get(parent.__parent ?? '')) target = parent;
    target.insertBefore(node);
  };

  const edits: RichEdits = {
    remove(from, to) {
      cut(from);
      cut(to);
      const layout = layoutOf(pending());
      const first = lineAt(layout, from);
      const last = lineAt(layout, to);
      if (first === last) return removeIn(first, from, to);
      removeIn(first, from, first.start + first.length + 1);
      removeIn(last, last.start - 1, to);
      for (const line of layout.lines.slice(layout.lines.indexOf(first) + 1, layout.lines.indexOf(last))) line.node.remove();
      // The lines join: what is left of the last one goes to the end of the first (its kind stays).
      const rest = last.node.getChildren!();
      if (rest.length > 0) first.node.append!(...rest);
      last.node.remove();
    },
    insert(at, text, marks) {
      const node = create(textNode, text);
      const format = withMarks(0, marks);
      if (format !== 0) node.setFormat!(format);
      insertNode(at, node);
    },
    split(at) {
      const line = lineAt(layoutOf(pending()), at);
      // A code block keeps its lines in one block; other blocks split as Enter splits them.
      if (line.node.__type === 'code') return insertNode(at, create(lineBreak));
      setSelection(at, at);
      const selection = pending()._selection as RangeSelection | null;
      if (!selection?.insertParagraph) throw new Error('Lexical has no selection to split the line at');
      selection.insertParagraph();
    },
    format(from, to, marks) {
      cut(from);
      cut(to);
      for (const line of layoutOf(pending()).lines) {
        for (const leaf of line.leaves) {
          if (leaf.kind !== 'text' || leaf.start < from || leaf.start + leaf.tLen > to || leaf.tLen === 0) continue;
          const format = leaf.node.getFormat!();
          const next = withMarks(format, marks);
          if (next !== format) leaf.node.setFormat!(next);
        }
      }
    },
  };

  let ours = false;
  const update = (fn: () => void): void => {
    ours = true;
    try {
      editor.update(fn, { discrete: true, tag: TAGS });
    } finally {
      ours = false;
    }
  };

  const selectionOf = (state: EditorState, layout: Layout): TextSelection | null => {
    const selection = state._selection;
    if (!selection?.anchor || !('focus' in selection)) return null;
    const anchor = offsetOf(layout, state._nodeMap, selection.anchor);
    const head = offsetOf(layout, state._nodeMap, selection.focus);
    return anchor === null || head === null ? null : { anchor, head };
  };

  const unregister: (() => void)[] = [];
  unregister.push(
    editor.registerUpdateListener(({ tags, editorState, prevEditorState }) => {
      if (ours || tags.has(TAG)) return;
      // @lexical/yjs applies the site's own collaborators' changes under this tag (and keeps
      // changes so tagged, ours among them, out of its Y.Doc): the site syncs this editor itself,
      // and what it brought must not be sent again as the person's. Nothing marks such an
      // editor before its first change (production builds strip command names); what Tandem
      // wrote into it until then never reached the site's Y.Doc, hence the advice to reload.
      if (tags.has('collaboration')) {
        events.detached('this editor is already collaborative (the site syncs it itself); changes Tandem brought may be missing from the site’s copy: reload the page to see it');
        return;
      }
      if (editorState._nodeMap !== prevEditorState._nodeMap) events.changed();
      else if (editorState._selection !== prevEditorState._selection) events.selected();
    }),
  );
  // Lexical's undo and redo commands, as toolbars dispatch them: Tandem's instead.
  for (const command of editor._commands.keys()) {
    const redo = command.type === 'REDO_COMMAND';
    if (command.type !== 'UNDO_COMMAND' && !redo) continue;
    unregister.push(
      editor.registerCommand(
        command,
        () => {
          events.undo(redo);
          return true;
        },
        COMMAND_PRIORITY_CRITICAL,
      ),
    );
  }

  /** The DOM point of a text offset: in a text node, or between a line's children. */
  const domPoint = (layout: Layout, offset: number): [Node, number] | null => {
    const line = lineAt(layout, offset);
    const text = line.leaves.find((l) => l.kind === 'text' && offset >= l.start && offset <= l.start + l.tLen);
    if (text) {
      const el = editor.getElementByKey(text.node.__key);
      const dom = el && document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
      if (dom) return [dom, Math.min(offset - text.start, (dom as Text).length)];
    }
    const next = line.leaves.find((l) => l.start >= offset);
    const el = next && editor.getElementByKey(next.node.__key);
    if (el?.parentNode) return [el.parentNode, Array.prototype.indexOf.call(el.parentNode.childNodes, el)];
    const block = editor.getElementByKey(line.node.__key);
    return block ? [block, next ? 0 : block.childNodes.length] : null;
  };

  /** True when the DOM selection is where the model's selection is drawn (false when unsure). */
  const domMatchesModel = (): boolean => {
    const dom = document.getSelection();
    const selection = editor.getEditorState()._selection;
    if (!dom || !selection?.anchor || !('focus' in selection)) return false;
    const at = (point: Point): [Node | null, number] => {
      const el = editor.getElementByKey(point.key);
      if (point.type === 'element' || !el) return [el, point.offset];
      return [document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode(), point.offset];
    };
    const [anchorNode, anchorOffset] = at(selection.anchor);
    const [focusNode, focusOffset] = at(selection.focus);
    return dom.anchorNode === anchorNode && dom.anchorOffset === anchorOffset && dom.focusNode === focusNode && dom.focusOffset === focusOffset;
  };

  const adapter: EditorAdapter = {
    rich: true,
    styles,
    read,
    apply(delta) {
      // The person's selection, kept where it belongs in the text (Lexical keeps it on nodes, and
      // ours are new ones); none stays none.
      const before = selectionOf(editor.getEditorState(), committed());
      update(() => {
        applyAsEdits(delta, read().text, edits);
        if (before) setSelection(moveOffset(before.anchor, delta), moveOffset(before.head, delta));
        else pending()._selection = null;
      });
    },
    selection(): TextSelection | null {
      const state = editor.getEditorState();
      return selectionOf(state, layoutOf(state));
    },
    select({ anchor, head }) {
      update(() => setSelection(anchor, head));
    },
    rects(from, to): Rect[] {
      const layout = committed();
      const start = domPoint(layout, from);
      const end = from === to ? start : domPoint(layout, to);
      return pointRects(start, end);
    },
    flush() {
      // Lexical takes the person's selection from the DOM on the document's `selectionchange`, a
      // task after the keys that moved it; a change committed before that would put the old one
      // back (a Shift+Arrow lost). Its own listener reads it now.
      if (adapter.focused() && !domMatchesModel()) document.dispatchEvent(new Event('selectionchange'));
      // What Lexical has taken in and not committed yet (it commits in a microtask): committed
      // now, as the person's own update (not tagged), so its listener reports it.
      if (editor._pendingEditorState) editor.update(() => undefined, { discrete: true });
    },
    focused: () => holdsFocus(editorRoot),
    destroy() {
      for (const off of unregister) off();
    },
  };
  return adapter;
};

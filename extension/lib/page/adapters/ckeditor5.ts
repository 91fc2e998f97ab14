/**
 * CKEditor 5. Its editable element holds the editor (`ckeditorInstance`). The model is a tree:
 * a root of blocks (paragraphs, headings) and containers (block quotes, tables) whose
 * textblocks are Tandem's lines; a `softBreak` is a `\n` of the text; inline objects (images,
 * mentions) are not text. Text attributes bold, italic, underline, strikethrough, code and
 * linkHref are Tandem's marks.
 *
 * Changes go in through the model writer in batches that are not undoable (CKEditor's undo
 * then never takes back a collaborator's change, and maps the person's steps over them), and
 * come out of `change:data` after every batch. The undo and redo commands (toolbar buttons,
 * `editor.execute('undo')`) are Tandem's: their `execute` is stopped before CKEditor's own runs.
 */
import type { Attributes } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, rangeRects, type AdapterFactory, type EditorAdapter, type RichEdits, holdsFocus } from '../adapter';

interface ModelNode {
  is(type: string, name?: string): boolean;
  readonly offsetSize: number;
  readonly parent: ModelElement | null;
  readonly data?: string;
  getAttributes(): Iterable<[string, unknown]>;
}
interface ModelElement extends ModelNode {
  readonly name: string;
  getChildren(): Iterable<ModelNode>;
}
interface ModelPosition {
  readonly parent: ModelElement;
  readonly offset: number;
  readonly root: ModelElement;
  isBefore(other: ModelPosition): boolean;
}
interface ModelRange {
  readonly start: ModelPosition;
  getItems(): Iterable<ModelNode>;
}
interface Writer {
  createRange(start: ModelPosition, end?: ModelPosition): ModelRange;
  createRangeOn(item: ModelNode): ModelRange;
  remove(range: ModelRange): void;
  insertText(text: string, attributes: Record<string, unknown>, position: ModelPosition): void;
  insertElement(name: string, position: ModelPosition): void;
  split(position: ModelPosition): unknown;
  setAttribute(key: string, value: unknown, item: ModelRange | ModelNode): void;
  removeAttribute(key: string, item: ModelRange | ModelNode): void;
  setSelection(range: ModelRange, options: { backward: boolean }): void;
}
interface Emitter {
  on(event: string, callback: (...args: never[]) => void, options?: { priority: string }): void;
  off(event: string, callback: (...args: never[]) => void): void;
}
interface Command extends Emitter {
  refresh(): void;
}
interface Model {
  document: Emitter & {
    version: number;
    getRoot(name: string): ModelElement | null;
    selection: Emitter & { anchor: ModelPosition | null; focus: ModelPosition | null };
  };
  schema: { checkChild(context: ModelElement, child: string): boolean; checkAttribute(context: string, attribute: string): boolean };
  createBatch(type: object): { isUndoable?: boolean };
  createPositionAt(parent: ModelElement, offset: number): ModelPosition;
  createRange(start: ModelPosition, end?: ModelPosition): ModelRange;
  createSelection(range: ModelRange): unknown;
  change(callback: (writer: Writer) => void): void;
  enqueueChange(batchType: object, callback: (writer: Writer) => void): void;
  deleteContent(selection: unknown, options: object): void;
}
interface Editor {
  state?: string;
  model: Model;
  commands: { get(name: string): Command | undefined };
  editing: {
    mapper: { toViewRange(range: ModelRange): unknown };
    view: {
      document: { selection: { isEqual(other: unknown): boolean } };
      domConverter: { viewRangeToDom(range: unknown): Range; mapDomToView(dom: Node): { rootName?: string } | undefined; domSelectionToView(selection: Selection): unknown };
    };
  };
}

/** CKEditor's text attribute for each Tandem mark. */
const ATTRIBUTES: Record<string, string> = { bold: 'bold', italic: 'italic', underline: 'underline', strike: 'strikethrough', code: 'code', link: 'linkHref' };
const MARKS: Record<string, string> = Object.fromEntries(Object.entries(ATTRIBUTES).map(([mark, attribute]) => [attribute, mark]));
/** Blocks where Enter makes a soft break, not a new block (a code block keeps its lines as text). */
const SOFT_BREAK_BLOCKS = new Set(['codeBlock']);

/** One textblock: where it starts in the text, and its children (text and soft breaks count; inline objects do not). */
interface Line {
  el: ModelElement;
  start: number;
  length: number;
  pieces: { offset: number; at: number; tLen: number; size: number }[];
}

export const ckeditor5: AdapterFactory = (root, events) => {
  const editor = (root as { ckeditorInstance?: Editor }).ckeditorInstance;
  if (!editor?.model?.document || typeof editor.model.enqueueChange !== 'function') return 'CKEditor was found, but not its editor';
  if (editor.state === 'destroyed') return 'this CKEditor was destroyed';
  const model = editor.model;
  // Batches that undo skips (`isUndoable`) came with CKEditor 35; older ones had a 'transparent' type.
  if (model.createBatch({ isUndoable: false }).isUndoable !== false) return 'this CKEditor version is too old (before 35)';
  const rootName = editor.editing.view.domConverter.mapDomToView(root)?.rootName ?? 'main';
  const modelRoot = model.document.getRoot(rootName);
  if (!modelRoot) return 'CKEditor was found, but not this part of its document';
  const schema = model.schema;
  const styles = new Set(Object.keys(ATTRIBUTES).filter((mark) => schema.checkAttribute('$text', ATTRIBUTES[mark]!)));

  const marksOf = (node: ModelNode): Attributes => {
    const out: Record<string, string | boolean> = {};
    for (const [key, value] of node.getAttributes()) {
      const mark = MARKS[key];
      if (mark) out[mark] = mark === 'link' ? String(value) : true;
    }
    return out;
  };
  const textblock = (el: ModelElement): boolean => schema.checkChild(el, '$text');

  let cache: { version: number; lines: Line[] } | null = null;
  const lines = (): Line[] => {
    if (cache?.version === model.document.version) return cache.lines;
    const out: Line[] = [];
    let offset = 0;
    const visit = (el: ModelElement): void => {
      if (textblock(el)) {
        if (out.length > 0) offset += 1;
        const line: Line = { el, start: offset, length: 0, pieces: [] };
        let at = 0;
        for (const child of el.getChildren()) {
          const tLen = child.is('$text') ? child.data!.length : child.is('element', 'softBreak') ? 1 : 0;
          line.pieces.push({ offset: offset + line.length, at, tLen, size: child.offsetSize });
          line.length += tLen;
          at += child.offsetSize;
        }
        offset += line.length;
        out.push(line);
        return;
      }
      for (const child of el.getChildren()) if (child.is('element')) visit(child as ModelElement);
    };
    visit(modelRoot);
    cache = { version: model.document.version, lines: out };
    return out;
  };

  /** The model position of a text offset: `before` or `after` the inline objects there. */
  const positionAt = (offset: number, bias: 'before' | 'after'): ModelPosition => {
    const all = lines();
    const line = all.find((l) => offset <= l.start + l.length) ?? all[all.length - 1];
    if (!line) throw new Error('this CKEditor root holds no text block to write into');
    let at = 0;
    for (const piece of line.pieces) {
      if (piece.tLen === 0) {
        if (piece.offset < offset || (piece.offset === offset && bias === 'after')) at = piece.at + piece.size;
        continue;
      }
      if (offset < piece.offset || (offset === piece.offset && bias === 'before')) break; // before the objects there
      if (offset < piece.offset + piece.tLen || (offset === piece.offset + piece.tLen && bias === 'before')) return model.createPositionAt(line.el, piece.at + (offset - piece.offset));
      at = piece.at + piece.size;
    }
    return model.createPositionAt(line.el, at);
  };

  /** The text offset of a model position (between blocks: the start of the next line). */
  const offsetAt = (position: ModelPosition): number => {
    const all = lines();
    const line = all.find((l) => l.el === position.parent);
    if (!line) {
      const next = all.find((l) => position.isBefore(model.createPositionAt(l.el, 0)));
      return next ? next.start : (all.at(-1)?.start ?? 0) + (all.at(-1)?.length ?? 0);
    }
    let offset = line.start;
    for (const piece of line.pieces) {
      if (position.offset <= piece.at) break;
      offset += Math.min(piece.tLen, position.offset - piece.at);
    }
    return offset;
  };

  const read = () => {
    const out = new RichTextBuilder(styles);
    for (const line of lines()) {
      out.line();
      for (const child of line.el.getChildren()) {
        if (child.is('$text')) out.add(child.data!, marksOf(child));
        else if (child.is('element', 'softBreak')) out.add('\n', {});
      }
    }
    return out.done();
  };

  const onData = (): void => events.changed();
  const onSelection = (): void => events.selected();
  model.document.on('change:data', onData);
  model.document.selection.on('change:range', onSelection);

  // CKEditor's undo and redo (toolbar, menus, `editor.execute`) run Tandem's instead, and stay
  // enabled while bound (unless the editor is read-only): CKEditor's own stacks no longer say
  // what can be undone (its redo stack would never fill, leaving its redo button off for good).
  const commands: [Command, (...args: never[]) => void, (...args: never[]) => void][] = [];
  for (const [name, redo] of [
    ['undo', false],
    ['redo', true],
  ] as const) {
    const command = editor.commands.get(name);
    if (!command) continue;
    const stop = (event: { stop(): void }): void => {
      event.stop();
      events.undo(redo);
    };
    // After CKEditor's own 'highest' listeners, which keep it off in a read-only editor.
    const enable = (event: { return?: unknown }): void => {
      event.return = true;
    };
    command.on('execute', stop as (...args: never[]) => void, { priority: 'high' });
    command.on('set:isEnabled', enable as (...args: never[]) => void, { priority: 'high' });
    command.refresh();
    commands.push([command, stop as (...args: never[]) => void, enable as (...args: never[]) => void]);
  }

  const edits = (writer: Writer): RichEdits => ({
    remove(from, to) {
      const a = positionAt(from, 'after');
      const b = positionAt(to, 'before');
      if (a.parent === b.parent) writer.remove(writer.createRange(a, b));
      // Across blocks: as the person's Delete would (the first block's kind stays).
      else model.deleteContent(model.createSelection(writer.createRange(a, b)), { doNotFixSelection: true });
    },
    insert(at, text, marks) {
      const attributes: Record<string, unknown> = {};
      for (const [mark, value] of Object.entries(marks)) if (styles.has(mark) && value !== null && value !== false) attributes[ATTRIBUTES[mark]!] = value;
      writer.insertText(text, attributes, positionAt(at, 'before'));
    },
    split(at) {
      const position = positionAt(at, 'before');
      if (SOFT_BREAK_BLOCKS.has(position.parent.name)) {
        writer.insertElement('softBreak', position);
        return;
      }
      // Both halves keep the block's kind, as Enter does (CKEditor's list post-fixer gives a split
      // list item's second half an item of its own).
      writer.split(position);
    },
    format(from, to, marks) {
      const range = writer.createRange(positionAt(from, 'after'), positionAt(to, 'before'));
      const texts = [...range.getItems()].filter((item) => item.is('$textProxy'));
      for (const [mark, value] of Object.entries(marks)) {
        const key = ATTRIBUTES[mark];
        if (!key || !styles.has(mark)) continue;
        for (const item of texts) {
          if (value === null || value === false) writer.removeAttribute(key, writer.createRangeOn(item));
          else writer.setAttribute(key, value, writer.createRangeOn(item));
        }
      }
    },
  });

  const adapter: EditorAdapter = {
    rich: true,
    styles,
    read,
    apply(delta) {
      model.enqueueChange({ isUndoable: false }, (writer) => applyAsEdits(delta, read().text, edits(writer)));
    },
    selection(): TextSelection | null {
      const { anchor, focus } = model.document.selection;
      if (!anchor || !focus || anchor.root !== modelRoot) return null;
      return { anchor: offsetAt(anchor), head: offsetAt(focus) };
    },
    select({ anchor, head }) {
      const a = positionAt(anchor, 'before');
      const h = positionAt(head, 'before');
      const backward = h.isBefore(a);
      model.change((writer) => writer.setSelection(writer.createRange(backward ? h : a, backward ? a : h), { backward }));
    },
    rects(from, to): Rect[] {
      const start = positionAt(from, 'before');
      const range = editor.editing.view.domConverter.viewRangeToDom(editor.editing.mapper.toViewRange(model.createRange(start, from === to ? start : positionAt(to, 'before'))));
      if (range.collapsed) besideText(range);
      return rangeRects(range);
    },
    flush() {
      // CKEditor takes the person's selection from the DOM on the document's `selectionchange`,
      // a task after the keys that moved it; a change rendered before that would put the old one
      // back (a Shift+Arrow lost). Its own listener reads it now.
      if (!adapter.focused()) return;
      const dom = document.getSelection();
      if (!dom || dom.rangeCount === 0) return;
      const view = editor.editing.view;
      if (!view.document.selection.isEqual(view.domConverter.domSelectionToView(dom))) document.dispatchEvent(new Event('selectionchange'));
    },
    focused: () => holdsFocus(root),
    destroy() {
      model.document.off('change:data', onData);
      model.document.selection.off('change:range', onSelection);
      for (const [command, stop, enable] of commands) {
        command.off('execute', stop);
        command.off('set:isEnabled', enable);
        command.refresh();
      }
    },
  };
  return adapter;
};

/** A caret between elements is drawn at the text beside it (a collapsed range there has no box). */
function besideText(range: Range): void {
  const parent = range.startContainer;
  if (parent.nodeType !== Node.ELEMENT_NODE) return;
  const after = parent.childNodes[range.startOffset];
  const before = parent.childNodes[range.startOffset - 1];
  if (after?.nodeType === Node.TEXT_NODE) range.setStart(after, 0);
  else if (before?.nodeType === Node.TEXT_NODE) range.setStart(before, (before as Text).length);
  range.collapse(true);
}

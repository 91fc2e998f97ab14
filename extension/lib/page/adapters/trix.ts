/**
 * Trix (Basecamp's editor; Rails' Action Text). The `<trix-editor>` element holds its editor
 * (`element.editor`), whose document is an immutable list of blocks of text pieces. A Trix
 * position counts every character, each block's closing break, and one for each attachment
 * (image, file); Tandem's text is the same without the attachments and the last block's break.
 * Inline line breaks (Enter in a plain block) and block breaks (Enter in a list item, a heading
 * or a quote) are both Tandem's `\n`. Bold, italic, strike and links (`href`) are Tandem's
 * marks; Trix has no underline and its code is a block format.
 *
 * Changes are made on the document (`insertTextAtRange`, `removeTextAtRange`, …) and given to
 * the editor in one `composition.setDocument`, which renders them; Trix records undo entries only
 * for the person's input. Its undo entries are whole snapshots (an undo would take
 * collaborators' changes back): while bound, the editor's undo and redo (Ctrl/Cmd+Z, the
 * toolbar's buttons) run Tandem's and its stacks are emptied. Local changes come from
 * `trix-change`.
 */
import type { Attributes } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, rangeRects, type AdapterFactory, type RichEdits, holdsFocus } from '../adapter';

type Range2 = [number, number];
interface Piece {
  attachment?: unknown;
  toString(): string;
  getAttributes(): Record<string, unknown>;
  hasAttribute(name: string): boolean;
}
interface TrixText {
  getPieces(): Piece[];
}
interface Block {
  text: TrixText;
  hasAttributes(): boolean;
}
interface TrixDocument {
  getBlocks(): Block[];
  locationRangeFromRange(range: Range2): unknown;
  insertTextAtRange(text: TrixText, range: Range2): TrixDocument;
  removeTextAtRange(range: Range2): TrixDocument;
  insertBlockBreakAtRange(range: Range2): TrixDocument;
  addAttributeAtRange(name: string, value: unknown, range: Range2): TrixDocument;
  removeAttributeAtRange(name: string, range: Range2): TrixDocument;
}
interface TrixEditor {
  composition: { document: TrixDocument; setDocument(document: TrixDocument): void };
  selectionManager: { selectionDidChange?(): void; getLocationRange?(): unknown; createDOMRangeFromLocationRange(locationRange: unknown): Range | null | undefined };
  undoManager?: { undoEntries: unknown[]; redoEntries: unknown[] };
  getDocument(): TrixDocument;
  getSelectedRange(): Range2;
  setSelectedRange(range: Range2): void;
  undo(): void;
  redo(): void;
  canUndo(): boolean;
  canRedo(): boolean;
}

/** Tandem's marks and Trix's text attributes. */
const ATTRIBUTES: Record<string, string> = { bold: 'bold', italic: 'italic', strike: 'strike', link: 'href' };
const STYLES: ReadonlySet<string> = new Set(Object.keys(ATTRIBUTES));

/** The document as Trix positions: where each attachment is, and the text with its marks. */
interface Layout {
  /** Trix positions of the attachments, ascending. */
  attachments: number[];
  /** Trix position of each block's start. */
  blocks: { start: number; block: Block }[];
}

function layoutOf(document: TrixDocument): Layout {
  const attachments: number[] = [];
  const blocks: Layout['blocks'] = [];
  let position = 0;
  for (const block of document.getBlocks()) {
    blocks.push({ start: position, block });
    for (const piece of block.text.getPieces()) {
      if (piece.attachment) attachments.push(position);
      position += piece.toString().length;
    }
  }
  return { attachments, blocks };
}

const countBelow = (sorted: number[], limit: number, inclusive: boolean): number => sorted.filter((p) => p < limit || (inclusive && p === limit)).length;

export const trix: AdapterFactory = (root, events) => {
  const element = root.closest('trix-editor') as (HTMLElement & { editor?: TrixEditor }) | null;
  const editor = element?.editor;
  if (!element || !editor || typeof editor.getDocument !== 'function' || typeof editor.composition?.setDocument !== 'function') return 'Trix was found, but not its editor';
  const first = editor.getDocument().getBlocks()[0];
  const TextClass = first?.text.constructor as { textForStringWithAttributes?(string: string, attributes: Record<string, unknown>): TrixText } | undefined;
  if (typeof TextClass?.textForStringWithAttributes !== 'function' || typeof editor.getDocument().insertTextAtRange !== 'function') return 'this version of Trix is not supported';
  const textFor = (string: string, attributes: Record<string, unknown>): TrixText => TextClass.textForStringWithAttributes!(string, attributes);

  // Tandem offsets ↔ Trix positions. Text inserted where an attachment is goes before it; a
  // removal takes the attachments strictly inside it.
  const toTrix = (layout: Layout, offset: number, after = false): number => {
    let position = offset;
    for (const a of layout.attachments) if (a < position || (after && a === position)) position++;
    return position;
  };
  const fromTrix = (layout: Layout, position: number): number => position - countBelow(layout.attachments, position, false);

  const read = () => {
    const out = new RichTextBuilder(STYLES);
    const blocks = editor.getDocument().getBlocks();
    out.line();
    blocks.forEach((block, i) => {
      for (const piece of block.text.getPieces()) {
        if (piece.attachment) continue;
        if (piece.hasAttribute('blockBreak')) {
          if (i < blocks.length - 1) out.add('\n', {});
          continue;
        }
        const attributes = piece.getAttributes();
        const marks: Record<string, string | boolean> = {};
        for (const [mark, name] of Object.entries(ATTRIBUTES)) {
          const value = attributes[name];
          if (typeof value === 'string' || value === true) marks[mark] = value;
        }
        out.add(piece.toString(), marks);
      }
    });
    return out.done();
  };

  /** The Trix document a change is being built on (given to the editor at the end of `apply`). */
  let working = editor.getDocument();
  const attributesFor = (marks: Attributes): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [mark, value] of Object.entries(marks)) if (ATTRIBUTES[mark] && value !== null && value !== false) out[ATTRIBUTES[mark]] = value;
    return out;
  };
  const edits: RichEdits = {
    remove(from, to) {
      const layout = layoutOf(working);
      working = working.removeTextAtRange([toTrix(layout, from, true), toTrix(layout, to)]);
    },
    insert(at, text, marks) {
      const position = toTrix(layoutOf(working), at);
      working = working.insertTextAtRange(textFor(text, attributesFor(marks)), [position, position]);
    },
    split(at) {
      const layout = layoutOf(working);
      const position = toTrix(layout, at);
      // As Enter does: a list item, heading or quote gets a block of its own; a plain block a line break.
      const block = [...layout.blocks].reverse().find((b) => b.start <= position)?.block;
      working = block?.hasAttributes() ? working.insertBlockBreakAtRange([position, position]) : working.insertTextAtRange(textFor('\n', {}), [position, position]);
    },
    format(from, to, marks) {
      const layout = layoutOf(working);
      const range: Range2 = [toTrix(layout, from, true), toTrix(layout, to)];
      for (const [mark, value] of Object.entries(marks)) {
        const name = ATTRIBUTES[mark];
        if (!name) continue;
        working = value === null || value === false ? working.removeAttributeAtRange(name, range) : working.addAttributeAtRange(name, value, range);
      }
    },
  };

  const forget = (): void => {
    if (editor.undoManager) {
      editor.undoManager.undoEntries = [];
      editor.undoManager.redoEntries = [];
    }
  };
  // The editor's undo and redo: Tandem's while bound, its own again after.
  let bound = true;
  const own = { undo: editor.undo, redo: editor.redo, canUndo: editor.canUndo, canRedo: editor.canRedo };
  editor.undo = () => (bound ? events.undo(false) : own.undo.call(editor));
  editor.redo = () => (bound ? events.undo(true) : own.redo.call(editor));
  editor.canUndo = () => bound || own.canUndo.call(editor);
  editor.canRedo = () => bound || own.canRedo.call(editor);
  forget();

  const onChange = (): void => events.changed();
  const onSelection = (): void => events.selected();
  element.addEventListener('trix-change', onChange);
  element.addEventListener('trix-selection-change', onSelection);

  const focused = (): boolean => holdsFocus(element);
  /**
   * Trix renders what a key did (and puts the caret after it) in the next animation frame. A
   * change of ours in between would change the document under that pending caret, and Trix
   * drops a caret asked for on an older document: what the key did is rendered now instead, as
   * that frame would.
   */
  const settle = (): void => {
    const input = (element as { editorController?: { inputController?: { scheduledRender?: unknown; render?(): void } } }).editorController?.inputController;
    if (input?.scheduledRender && typeof input.render === 'function') input.render();
  };
  /** True when the person's selection in the DOM runs backwards (its focus before its anchor). */
  const backward = (): boolean => {
    const selection = element.ownerDocument.getSelection();
    if (!focused() || !selection?.anchorNode || !selection.focusNode || selection.isCollapsed || !element.contains(selection.anchorNode)) return false;
    const range = element.ownerDocument.createRange();
    range.setStart(selection.anchorNode, selection.anchorOffset);
    range.setEnd(selection.focusNode, selection.focusOffset);
    return range.collapsed; // an end before the start collapses the range
  };

  return {
    rich: true,
    styles: STYLES,
    read,
    apply(delta) {
      settle();
      working = editor.getDocument();
      applyAsEdits(delta, read().text, edits);
      editor.composition.setDocument(working);
      forget();
    },
    selection(): TextSelection | null {
      settle();
      const [start, end] = editor.getSelectedRange();
      const layout = layoutOf(editor.getDocument());
      const range = { anchor: fromTrix(layout, start), head: fromTrix(layout, end) };
      // Trix's range is ordered; the DOM's selection says which way the person extended it.
      return backward() ? { anchor: range.head, head: range.anchor } : range;
    },
    select({ anchor, head }) {
      const current = editor.getDocument();
      const layout = layoutOf(current);
      const a = toTrix(layout, anchor);
      const h = toTrix(layout, head);
      editor.setSelectedRange([Math.min(a, h), Math.max(a, h)]);
      if (a <= h || !focused()) return;
      // Backwards (a Shift+ArrowLeft selection): the DOM's selection is drawn that way, so the next
      // Shift+Arrow moves the same end as before.
      const at = (position: number): Range | null | undefined => editor.selectionManager.createDOMRangeFromLocationRange(current.locationRangeFromRange([position, position]));
      const from = at(a);
      const to = at(h);
      if (!from || !to) return;
      element.ownerDocument.getSelection()?.setBaseAndExtent(from.startContainer, from.startOffset, to.startContainer, to.startOffset);
      editor.selectionManager.selectionDidChange?.();
    },
    rects(from, to): Rect[] {
      const current = editor.getDocument();
      const layout = layoutOf(current);
      const range = editor.selectionManager.createDOMRangeFromLocationRange(current.locationRangeFromRange([toTrix(layout, from), toTrix(layout, to)]));
      return range ? rangeRects(range) : [];
    },
    flush() {
      // Trix reads the DOM's selection on `selectionchange`, a task after the keys that moved it:
      // read it now, unless the DOM shows what Trix holds (its own reading of a caret after a
      // line break at a block's end is the position before the break).
      settle();
      if (!focused()) return;
      const dom = element.ownerDocument.getSelection();
      const held = editor.selectionManager.getLocationRange?.();
      const drawn = held ? editor.selectionManager.createDOMRangeFromLocationRange(held) : null;
      const now = dom && dom.rangeCount > 0 ? dom.getRangeAt(0) : null;
      if (drawn && now && drawn.compareBoundaryPoints(Range.START_TO_START, now) === 0 && drawn.compareBoundaryPoints(Range.END_TO_END, now) === 0) return;
      editor.selectionManager.selectionDidChange?.();
    },
    focused,
    destroy() {
      bound = false;
      element.removeEventListener('trix-change', onChange);
      element.removeEventListener('trix-selection-change', onSelection);
      Object.assign(editor, own);
      forget();
    },
  };
};

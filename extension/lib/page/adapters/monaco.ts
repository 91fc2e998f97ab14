/**
 * Monaco. It keeps no handle on its DOM: the editor is found through its global API
 * (`monaco.editor.getEditors()`, which the AMD build — what CDN loaders such as
 * @monaco-editor/loader use — always sets, and an ESM bundle only with
 * `MonacoEnvironment.globalAPI`), as the one whose `.monaco-editor` element is the root. An ESM
 * bundle without it cannot be reached from outside the page's modules: refused, with why.
 *
 * Its model counts a CRLF line end as two; Tandem's offsets count `\n` (the model keeps its own
 * line ends: inserted text takes them). A content event's changes are each in offsets of the
 * model before the event, so they convert without looking at the model again. Remote changes go
 * in through `model.applyEdits`, which keeps them off the undo stack; the editor's undo (its key,
 * context menu and command palette all end in `model.undo()`/`redo()`) is Tandem's while bound.
 * Another model set on the editor (another file) or the editor disposed ends the binding.
 */
import type { Rect, TextSelection } from '../../page-protocol';
import type { AdapterFactory, EditorAdapter } from '../adapter';
import { lineRects, mapSelections, replacements, toLF } from './plain-text';

interface Position {
  lineNumber: number;
  column: number;
}
interface Range {
  startLineNumber: number;
  startColumn: number;
  endLineNumber: number;
  endColumn: number;
}
interface Selection {
  selectionStartLineNumber: number;
  selectionStartColumn: number;
  positionLineNumber: number;
  positionColumn: number;
}
interface ContentChange {
  range: Range;
  rangeOffset: number;
  rangeLength: number;
  text: string;
}
interface ContentEvent {
  changes: ContentChange[];
  eol: string;
  isFlush: boolean;
}
interface Disposable {
  dispose(): void;
}
interface Model {
  getValue(eol?: number): string;
  getValueLength(eol?: number): number;
  getEOL(): string;
  getLineCount(): number;
  getLineMaxColumn(line: number): number;
  getOffsetAt(position: Position): number;
  getPositionAt(offset: number): Position;
  applyEdits(edits: { range: Range; text: string }[]): void;
  onDidChangeContent(f: (e: ContentEvent) => void): Disposable;
  onWillDispose(f: () => void): Disposable;
  undo(): unknown;
  redo(): unknown;
}
interface Editor {
  getModel(): Model | null;
  getDomNode(): HTMLElement | null;
  getSelections(): Selection[] | null;
  setSelections(selections: Selection[], source?: string): void;
  getScrolledVisiblePosition(position: Position): { top: number; left: number; height: number } | null;
  getLayoutInfo(): { contentLeft: number; contentWidth: number };
  getOption(id: number): unknown;
  hasTextFocus(): boolean;
  revealPositionInCenterIfOutsideViewport(position: Position): void;
  onDidChangeModel(f: () => void): Disposable;
  onDidChangeCursorSelection(f: () => void): Disposable;
  onDidDispose(f: () => void): Disposable;
  onDidScrollChange(f: () => void): Disposable;
  onDidLayoutChange(f: () => void): Disposable;
}
interface MonacoApi {
  editor?: { getEditors?(): Editor[]; EditorOption?: { readOnly?: number } };
}

/** `EndOfLinePreference.LF`: values read with `\n` whatever the model's line ends. */
const LF = 1;

export const monaco: AdapterFactory = (root, events) => {
  const api = (globalThis as { monaco?: MonacoApi }).monaco?.editor;
  if (typeof api?.getEditors !== 'function') return "this page bundles Monaco without its global API (window.monaco), the only way to reach the editor from outside the page's own code";
  const dom = root.closest('.monaco-editor') ?? root;
  const editor = api.getEditors().find((e) => e.getDomNode() === dom);
  if (!editor) return 'Monaco was found, but not this editor';
  const model = editor.getModel();
  if (!model) return 'this Monaco editor shows no document';
  const readOnlyOption = api.EditorOption?.readOnly;
  if (readOnlyOption !== undefined && editor.getOption(readOnlyOption) === true) return 'this Monaco editor is read-only';

  let ours = false;
  /** Length of a line end in the model (2 for CRLF): what the model's offsets count per line. */
  let eol = model.getEOL().length;
  /** The text's length as the changes reported so far make it (a check on each of them). */
  let length = model.getValueLength(LF);

  const offsetOf = (p: Position): number => model.getOffsetAt(p) - (p.lineNumber - 1) * (eol - 1);
  const positionOf = (offset: number): Position => {
    if (eol === 1) return model.getPositionAt(offset);
    // The last line starting at or before `offset`, counting `\n` as one.
    let lo = 1;
    let hi = model.getLineCount();
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsetOf({ lineNumber: mid, column: 1 }) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const column = Math.min(offset - offsetOf({ lineNumber: lo, column: 1 }) + 1, model.getLineMaxColumn(lo));
    return { lineNumber: lo, column };
  };
  const rangeOf = (from: number, to: number): Range => {
    const a = positionOf(from);
    const b = to === from ? a : positionOf(to);
    return { startLineNumber: a.lineNumber, startColumn: a.column, endLineNumber: b.lineNumber, endColumn: b.column };
  };
  const selections = (): TextSelection[] =>
    (editor.getSelections() ?? []).map((s) => ({
      anchor: offsetOf({ lineNumber: s.selectionStartLineNumber, column: s.selectionStartColumn }),
      head: offsetOf({ lineNumber: s.positionLineNumber, column: s.positionColumn }),
    }));
  const toSelection = ({ anchor, head }: TextSelection): Selection => {
    const a = positionOf(anchor);
    const h = positionOf(head);
    return { selectionStartLineNumber: a.lineNumber, selectionStartColumn: a.column, positionLineNumber: h.lineNumber, positionColumn: h.column };
  };

  // A change moves the caret too: the binding reads it after every change, so only moves
  // without one are told (one notice per keystroke, not two).
  let changing = false;
  const listeners: Disposable[] = [];
  listeners.push(
    model.onDidChangeContent((e) => {
      if (!ours && !changing) {
        changing = true;
        queueMicrotask(() => (changing = false));
      }
      if (e.isFlush) {
        // setValue: the whole text replaced.
        eol = model.getEOL().length;
        length = model.getValueLength(LF);
        if (!ours) events.changed();
        return;
      }
      const changes = [...e.changes].sort((x, y) => x.rangeOffset - y.rangeOffset);
      const delta: ({ retain: number } | { delete: number } | { insert: string })[] = [];
      let at = 0;
      for (const c of changes) {
        const start = c.rangeOffset - (c.range.startLineNumber - 1) * (eol - 1);
        const removed = c.rangeLength - (c.range.endLineNumber - c.range.startLineNumber) * (eol - 1);
        const text = toLF(c.text);
        if (start > at) delta.push({ retain: start - at });
        if (removed > 0) delta.push({ delete: removed });
        if (text) delta.push({ insert: text });
        at = start + removed;
        length += text.length - removed;
      }
      eol = e.eol.length;
      if (ours) return;
      const now = model.getValueLength(LF);
      if (now !== length) {
        // Not what the changes said: compare in full rather than trust them.
        length = now;
        events.changed();
      } else events.changed(delta);
    }),
    editor.onDidChangeCursorSelection(() => {
      if (!ours && !changing) events.selected();
    }),
    // Monaco scrolls its own viewport (no DOM scroll event): carets drawn over it follow.
    editor.onDidScrollChange(() => events.moved()),
    editor.onDidLayoutChange(() => events.moved()),
    editor.onDidChangeModel(() => events.detached('the editor switched to another file')),
    model.onWillDispose(() => events.detached('the document was closed')),
    editor.onDidDispose(() => events.detached('the editor was closed')),
  );

  const own = { undo: Object.hasOwn(model, 'undo'), redo: Object.hasOwn(model, 'redo') };
  const original = { undo: model.undo, redo: model.redo };
  model.undo = () => events.undo(false);
  model.redo = () => events.undo(true);

  const adapter: EditorAdapter = {
    rich: false,
    styles: new Set(),
    read: () => model.getValue(LF),
    apply(delta) {
      const before = selections();
      ours = true;
      try {
        model.applyEdits(replacements(delta).map((r) => ({ range: rangeOf(r.from, r.to), text: r.insert })));
        length = model.getValueLength(LF);
        const moved = mapSelections(before, delta, selections());
        if (moved && moved.length > 0) editor.setSelections(moved.map(toSelection), 'tandem');
      } finally {
        ours = false;
      }
    },
    selection: () => selections()[0] ?? null,
    select(s) {
      ours = true;
      try {
        const selection = toSelection(s);
        editor.setSelections([selection], 'tandem');
        editor.revealPositionInCenterIfOutsideViewport({ lineNumber: selection.positionLineNumber, column: selection.positionColumn });
      } finally {
        ours = false;
      }
    },
    rects(from, to): Rect[] {
      const node = editor.getDomNode();
      if (!node) return [];
      const box = node.getBoundingClientRect();
      const caret = (p: Position): { left: number; top: number; height: number } | null => {
        const v = editor.getScrolledVisiblePosition(p);
        return v && { left: box.left + v.left, top: box.top + v.top, height: v.height };
      };
      const a = positionOf(Math.min(from, length));
      if (from === to) {
        const c = caret(a);
        return c ? [{ ...c, width: 0 }] : [];
      }
      const b = positionOf(Math.min(to, length));
      return lineRects(
        { line: a.lineNumber - 1, ch: a.column - 1 },
        { line: b.lineNumber - 1, ch: b.column - 1 },
        (line) => model.getLineMaxColumn(line + 1) - 1,
        (p) => caret({ lineNumber: p.line + 1, column: p.ch + 1 }),
        () => {
          const layout = editor.getLayoutInfo();
          return { left: box.left + layout.contentLeft, right: box.left + layout.contentLeft + layout.contentWidth };
        },
      );
    },
    focused: () => editor.hasTextFocus(),
    destroy() {
      for (const l of listeners) l.dispose();
      for (const name of ['undo', 'redo'] as const) {
        if (own[name]) model[name] = original[name];
        else delete (model as Partial<Model>)[name];
      }
    },
  };
  return adapter;
};

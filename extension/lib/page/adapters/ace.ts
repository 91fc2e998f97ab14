/**
 * Ace. `ace.edit` puts the editor on its container (`.ace_editor`) as `env.editor`. The
 * session's `change` events come one per delta, synchronously, right after the document
 * applied it (insert: where and which lines; remove: the range it had), so a LineIndex follows
 * them and checks itself against the document's lines after each. Offsets are counted with
 * `\n` whatever the session's newline mode (Ace keeps lines; only `getValue` joins them with
 * `\r\n` in Windows mode, and the page keeps its mode). Remote changes go in as the document's
 * own remove/insert deltas while the session takes them as it takes its undo manager's own
 * replays (`$fromUndo`): not recorded in its undo history, not mirrored by snippet tab stops.
 * Undo and redo (the commands, their keys, `editor.undo()`, the undo manager's methods) are
 * Tandem's while bound.
 */
import type { Rect, TextSelection } from '../../page-protocol';
import type { AdapterFactory, EditorAdapter } from '../adapter';
import { LineIndex, lineRects, mapSelections, replacements } from './plain-text';

interface Point {
  row: number;
  column: number;
}
interface Delta {
  action: 'insert' | 'remove';
  start: Point;
  end: Point;
  lines: string[];
}
interface AceDocument {
  getLength(): number;
  getLine(row: number): string;
  getAllLines(): string[];
  insertMergedLines(position: Point, lines: string[]): Point;
  remove(range: { start: Point; end: Point }): Point;
}
interface UndoManager {
  undo(session?: unknown, dontSelect?: boolean): void;
  redo(session?: unknown, dontSelect?: boolean): void;
}
interface Session {
  getDocument(): AceDocument;
  getUndoManager(): UndoManager | null;
  on(type: 'change', f: (delta: Delta) => void): void;
  off(type: 'change', f: (delta: Delta) => void): void;
  $fromUndo?: boolean;
}
interface Selection {
  getSelectionAnchor(): Point;
  getSelectionLead(): Point;
  setSelectionRange(range: { start: Point; end: Point }, reverse?: boolean): void;
  rangeCount?: number;
}
interface Editor {
  getSession(): Session;
  selection: Selection;
  renderer: {
    textToScreenCoordinates(row: number, column: number): { pageX: number; pageY: number };
    lineHeight: number;
    scroller: HTMLElement;
    scrollCursorIntoView(): void;
  };
  on(type: string, f: (...args: never[]) => void): void;
  off(type: string, f: (...args: never[]) => void): void;
  isFocused(): boolean;
  undo(): void;
  redo(): void;
}

export const ace: AdapterFactory = (root, events) => {
  const container = root.closest('.ace_editor') ?? root;
  const editor = (container as { env?: { editor?: Editor } }).env?.editor;
  if (!editor || typeof editor.getSession !== 'function') return 'Ace was found, but not its editor (pages that build it without ace.edit do not say where it is)';
  const session = editor.getSession();
  const doc = session.getDocument();
  const build = (): LineIndex => new LineIndex(doc.getLength(), (row) => doc.getLine(row).length);
  let index = build();
  let ours = false;

  const offsetOf = (p: Point): number => index.offset(p.row, p.column);
  const pointOf = (offset: number): Point => {
    const p = index.position(Math.max(0, Math.min(offset, index.length)));
    return { row: p.line, column: p.ch };
  };
  const selection = (): TextSelection => ({ anchor: offsetOf(editor.selection.getSelectionAnchor()), head: offsetOf(editor.selection.getSelectionLead()) });
  const setSelection = ({ anchor, head }: TextSelection): void => {
    const a = pointOf(anchor);
    const h = pointOf(head);
    editor.selection.setSelectionRange(anchor <= head ? { start: a, end: h } : { start: h, end: a }, anchor > head);
  };

  // A change moves the caret too: the binding reads it after every change, so only moves
  // without one are told (one notice per keystroke, not two).
  let changing = false;
  const onChange = (delta: Delta): void => {
    if (!ours && !changing) {
      changing = true;
      queueMicrotask(() => (changing = false));
    }
    const { start, end } = delta;
    const change =
      delta.action === 'insert'
        ? index.replace({ line: start.row, ch: start.column }, { line: start.row, ch: start.column }, delta.lines)
        : index.replace({ line: start.row, ch: start.column }, { line: end.row, ch: end.column }, ['']);
    // The document is exactly past this delta: its line count and the changed line must agree.
    if (index.lines !== doc.getLength() || index.lineLength(start.row) !== doc.getLine(start.row).length) {
      index = build();
      if (!ours) events.changed();
      return;
    }
    if (!ours) events.changed(change);
  };
  const onSelection = (): void => {
    if (!ours && !changing) events.selected();
  };
  const onSession = (): void => events.detached('the editor switched to another document');
  const onDestroy = (): void => events.detached('the editor was closed');
  session.on('change', onChange);
  editor.on('changeSelection', onSelection);
  editor.on('changeSession', onSession);
  editor.on('destroy', onDestroy);

  // The commands' `exec` call `editor.undo()`/`redo()`; pages' toolbars call those or the undo manager.
  const own = { undo: Object.hasOwn(editor, 'undo'), redo: Object.hasOwn(editor, 'redo') };
  const original = { undo: editor.undo, redo: editor.redo };
  editor.undo = () => events.undo(false);
  editor.redo = () => events.undo(true);
  const manager = session.getUndoManager();
  const managerOriginal = manager && { undo: manager.undo, redo: manager.redo, own: Object.hasOwn(manager, 'undo') };
  if (manager) {
    // One undo manager may serve several sessions: only this one's undo is Tandem's.
    manager.undo = function (this: UndoManager, s?: unknown, dontSelect?: boolean) {
      if (s === undefined || s === session) events.undo(false);
      else managerOriginal!.undo.call(this, s, dontSelect);
    };
    manager.redo = function (this: UndoManager, s?: unknown, dontSelect?: boolean) {
      if (s === undefined || s === session) events.undo(true);
      else managerOriginal!.redo.call(this, s, dontSelect);
    };
  }

  const adapter: EditorAdapter = {
    rich: false,
    styles: new Set(),
    read: () => doc.getAllLines().join('\n'),
    apply(delta) {
      const single = !(editor.selection.rangeCount && editor.selection.rangeCount > 1);
      const before = single ? selection() : null;
      const wasFromUndo = session.$fromUndo;
      ours = true;
      session.$fromUndo = true;
      try {
        const edits = replacements(delta);
        // Last first: the positions of earlier edits stay those of the text before the delta.
        for (let i = edits.length - 1; i >= 0; i--) {
          const { from, to, insert } = edits[i]!;
          if (to > from) doc.remove({ start: pointOf(from), end: pointOf(to) });
          if (insert) doc.insertMergedLines(pointOf(from), insert.split('\n'));
        }
        const moved = before && mapSelections([before], delta, [selection()]);
        if (moved) setSelection(moved[0]!);
      } finally {
        session.$fromUndo = wasFromUndo;
        ours = false;
      }
    },
    selection,
    select(s) {
      ours = true;
      try {
        setSelection(s);
        editor.renderer.scrollCursorIntoView();
      } finally {
        ours = false;
      }
    },
    rects(from, to): Rect[] {
      const { renderer } = editor;
      const box = (p: Point): { left: number; top: number; height: number } => {
        const c = renderer.textToScreenCoordinates(p.row, p.column);
        return { left: c.pageX, top: c.pageY, height: renderer.lineHeight };
      };
      if (from === to) return [{ ...box(pointOf(from)), width: 0 }];
      return lineRects(
        index.position(Math.min(from, index.length)),
        index.position(Math.min(to, index.length)),
        (line) => doc.getLine(line).length,
        (p) => box({ row: p.line, column: p.ch }),
        () => {
          const r = renderer.scroller.getBoundingClientRect();
          return { left: box({ row: 0, column: 0 }).left, right: r.right };
        },
      );
    },
    focused: () => editor.isFocused(),
    destroy() {
      session.off('change', onChange);
      editor.off('changeSelection', onSelection);
      editor.off('changeSession', onSession);
      editor.off('destroy', onDestroy);
      for (const name of ['undo', 'redo'] as const) {
        if (own[name]) editor[name] = original[name];
        else delete (editor as Partial<Editor>)[name];
      }
      if (manager && managerOriginal) {
        if (managerOriginal.own) {
          manager.undo = managerOriginal.undo;
          manager.redo = managerOriginal.redo;
        } else {
          delete (manager as Partial<UndoManager>).undo;
          delete (manager as Partial<UndoManager>).redo;
        }
      }
    },
  };
  return adapter;
};

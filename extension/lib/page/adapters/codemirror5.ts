/**
 * CodeMirror 5. The instance is on its wrapper element (`.CodeMirror`, as `.CodeMirror`). Its
 * per-change `change` events are delayed to the end of the operation, in order, each in the
 * positions of the text just before that change (the editor is already past all of them by
 * then), so a LineIndex follows them to give exact offsets; the `changes` event at the end of an
 * operation checks the index still matches the editor. Remote changes go in through
 * `replaceRange` with the origin `tandem` in one operation. CodeMirror 5 records every change in
 * its history and has no way to leave one out, so its undo and redo (commands, keys, the
 * context menu, and the methods pages call) are Tandem's while bound; what it recorded is never
 * replayed.
 */
import type { Rect, TextSelection } from '../../page-protocol';
import type { AdapterFactory, EditorAdapter } from '../adapter';
import { LineIndex, lineRects, mapSelections, replacements, type LinePos } from './plain-text';

interface Pos {
  line: number;
  ch: number;
}
interface Change {
  from: Pos;
  to: Pos;
  text: string[];
  origin?: string;
}
interface Doc {
  undo(): void;
  redo(): void;
}
interface Input {
  textarea?: HTMLTextAreaElement;
  poll?(): boolean;
  readDOMTimeout?: ReturnType<typeof setTimeout> | null;
  composing?: unknown;
  updateFromDOM?(): void;
}
interface CM5 {
  getValue(separator?: string): string;
  getLine(line: number): string;
  firstLine(): number;
  lineCount(): number;
  getDoc(): Doc;
  on(type: string, f: (...args: never[]) => void): void;
  off(type: string, f: (...args: never[]) => void): void;
  operation(f: () => void): void;
  replaceRange(text: string[], from: Pos, to: Pos, origin: string): void;
  listSelections(): { anchor: Pos; head: Pos }[];
  setSelections(ranges: { anchor: Pos; head: Pos }[], primary?: number, options?: object): void;
  getCursor(which: 'anchor' | 'head'): Pos;
  hasFocus(): boolean;
  cursorCoords(pos: Pos, mode: 'window'): { left: number; top: number; bottom: number };
  charCoords(pos: Pos, mode: 'window'): { left: number; right: number; top: number; bottom: number };
  getWrapperElement(): HTMLElement;
  display?: { input?: Input; lineDiv?: HTMLElement };
  undo(): void;
  redo(): void;
  undoSelection(): void;
  redoSelection(): void;
}

/** The methods put back on `destroy`. */
const PATCHED = ['undo', 'redo', 'undoSelection', 'redoSelection'] as const;

export const codemirror5: AdapterFactory = (root, events) => {
  const wrapper = root.closest('.CodeMirror') ?? root;
  const cm = (wrapper as { CodeMirror?: CM5 }).CodeMirror;
  if (!cm || typeof cm.replaceRange !== 'function' || typeof cm.getWrapperElement !== 'function') return 'CodeMirror 5 was found, but not its editor instance';
  const doc = cm.getDoc();
  // A document may number its lines from `firstLine` (a linked sub-document, or the option).
  const first = (): number => cm.firstLine();
  const rel = (p: Pos): LinePos => ({ line: p.line - first(), ch: p.ch });
  const abs = (p: LinePos): Pos => ({ line: p.line + first(), ch: p.ch });
  const build = (): LineIndex => new LineIndex(cm.lineCount(), (i) => cm.getLine(i + first()).length);
  let index = build();
  let ours = false;

  const offsetOf = (p: Pos): number => index.offset(p.line - first(), p.ch);
  const posOf = (offset: number): Pos => abs(index.position(Math.max(0, Math.min(offset, index.length))));
  const selections = (): TextSelection[] => cm.listSelections().map((r) => ({ anchor: offsetOf(r.anchor), head: offsetOf(r.head) }));

  // A change moves the caret too: the binding reads it after every change, so only moves
  // without one are told (one notice per keystroke, not two).
  let changing = false;
  const onChange = (_cm: CM5, change: Change): void => {
    const delta = index.replace(rel(change.from), rel(change.to), change.text);
    if (ours) return;
    changing = true;
    queueMicrotask(() => (changing = false));
    events.changed(delta);
  };
  // At the end of an operation every change has been through `onChange`: the index must count
  // the editor's lines. If not (a change it never announced), start again from a full compare.
  const onChanges = (): void => {
    if (index.lines === cm.lineCount()) return;
    index = build();
    if (!ours) events.changed();
  };
  const onCursor = (): void => {
    if (!ours && !changing) events.selected();
  };
  // Another document shown in this editor (another file): it is not the text that was shared.
  const onSwap = (): void => events.detached('the editor switched to another document');
  cm.on('change', onChange);
  cm.on('changes', onChanges);
  cm.on('cursorActivity', onCursor);
  cm.on('swapDoc', onSwap);

  const saved = PATCHED.map((name) => [name, Object.hasOwn(cm, name), cm[name]] as const);
  const savedDoc = (['undo', 'redo'] as const).map((name) => [name, Object.hasOwn(doc, name), doc[name]] as const);
  cm.undo = doc.undo = cm.undoSelection = () => events.undo(false);
  cm.redo = doc.redo = cm.redoSelection = () => events.undo(true);

  const adapter: EditorAdapter = {
    rich: false,
    styles: new Set(),
    read: () => cm.getValue('\n'),
    apply(delta) {
      const before = selections();
      ours = true;
      try {
        cm.operation(() => {
          // Last first: the positions of earlier edits stay those of the text before the delta.
          const edits = replacements(delta);
          const at = edits.map((r) => [posOf(r.from), posOf(r.to)] as const);
          for (let i = edits.length - 1; i >= 0; i--) cm.replaceRange(edits[i]!.insert.split('\n'), at[i]![0], at[i]![1], 'tandem');
        });
        // The change events have run (the operation ended): the index is past the delta.
        const moved = mapSelections(before, delta, selections());
        if (moved)
          cm.setSelections(
            moved.map((s) => ({ anchor: posOf(s.anchor), head: posOf(s.head) })),
            undefined,
            { scroll: false, origin: 'tandem' },
          );
      } finally {
        ours = false;
      }
    },
    selection(): TextSelection {
      return { anchor: offsetOf(cm.getCursor('anchor')), head: offsetOf(cm.getCursor('head')) };
    },
    select({ anchor, head }) {
      ours = true;
      try {
        cm.setSelections([{ anchor: posOf(anchor), head: posOf(head) }], 0, { origin: 'tandem' });
      } finally {
        ours = false;
      }
    },
    rects(from, to): Rect[] {
      const box = (pos: Pos): { left: number; top: number; height: number } => {
        const c = cm.cursorCoords(pos, 'window');
        return { left: c.left, top: c.top, height: c.bottom - c.top };
      };
      if (from === to) return [{ ...box(posOf(from)), width: 0 }];
      const lines = cm.display?.lineDiv ?? cm.getWrapperElement();
      return lineRects(
        index.position(Math.min(from, index.length)),
        index.position(Math.min(to, index.length)),
        (line) => cm.getLine(line + first()).length,
        (pos) => box(abs(pos)),
        () => {
          const r = lines.getBoundingClientRect();
          return { left: r.left, right: r.right };
        },
      );
    },
    flush() {
      // Typing the editor has not read yet: from its textarea (desktop) or, with
      // `inputStyle: "contenteditable"` (its default on phones), from its DOM 80 ms later.
      const input = cm.display?.input;
      if (!input) return;
      if (input.textarea && typeof input.poll === 'function') input.poll();
      else if (input.readDOMTimeout != null && !input.composing && typeof input.updateFromDOM === 'function') {
        clearTimeout(input.readDOMTimeout);
        input.readDOMTimeout = null;
        input.updateFromDOM();
      }
    },
    focused: () => cm.hasFocus(),
    destroy() {
      cm.off('change', onChange);
      cm.off('changes', onChanges);
      cm.off('cursorActivity', onCursor);
      cm.off('swapDoc', onSwap);
      for (const [name, own, original] of saved) {
        if (own) cm[name] = original;
        else delete (cm as Partial<CM5>)[name];
      }
      for (const [name, own, original] of savedDoc) {
        if (own) doc[name] = original;
        else delete (doc as Partial<Doc>)[name];
      }
    },
  };
  return adapter;
};

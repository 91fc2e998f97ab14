/**
 * Slate (slate-react). Slate keeps its editor in React, not on the DOM: the editor is the
 * `editor` prop of the `<Slate>` component, found by walking up the React fiber of the
 * `[data-slate-editor]` element (React puts its fiber on every element it renders, in
 * production builds too).
 *
 * Slate's document is a tree of elements ending in text leaves. Blocks whose children are text
 * and inline elements are Tandem's lines (paragraphs, headings, list items…); blocks of blocks
 * (lists, quotes of paragraphs) hold lines; void elements (images, mentions) are not text.
 * Text properties bold, italic, underline, code and strikethrough are Tandem's marks (the names
 * Slate's own examples and most sites use). Links are inline elements: their text is text,
 * their address is not shared.
 *
 * Changes go in as Slate operations through `editor.apply` (what every transform and plugin
 * goes through), normalized once at the end (`editor.withoutNormalizing`, Slate 0.100 and later;
 * older versions are refused), so Slate transforms the person's selection and slate-react re-renders as
 * for any change. slate-history's stacks would mix the person's operations with collaborators'
 * (its undo replays inverse operations at stale paths): while bound, the editor's `undo` and
 * `redo` (which slate-react calls on Ctrl/Cmd+Z and `historyUndo`) run Tandem's, and its stacks
 * are emptied. Local changes come from `editor.onChange`.
 *
 * slate-react takes the DOM selection into its model at most every 100 ms: after the person
 * moves the caret, the model's may be behind. The adapter reads it from the DOM then (see
 * `syncSelection`), or a remote change would put the caret back where it was.
 */
import type { Rect, TextSelection } from '../../page-protocol';
import { RichTextBuilder, applyAsEdits, pointRects, type AdapterFactory, type EditorAdapter, type RichEdits, holdsFocus } from '../adapter';
import { type Line, type Path, type SElement, type SNode, type SText, STYLES, SlateModel, findEditor, isText, lastOf, marksOf, nextOf, parentOf, propsFor, propsOf, sameMarks } from './slate-model';

/**
 * Runs `work` so that React renders the updates it makes before this task ends. slate-react
 * re-renders on `onChange`, and every render puts the DOM selection back to the model's when
 * they differ. React renders an update made outside any event in a later task; a key press
 * that arrives first (browsers run input before other tasks) moves the DOM selection, and the
 * render then undoes it: a Shift+Arrow pressed just after a collaborator's keystroke selected
 * one character too few. An update made while a discrete event such as `input` is being
 * dispatched React renders at once (React 18 and 19 read its priority from `window.event`; 17
 * and older render such updates synchronously anyway), so the work runs inside one: an `input`
 * event on a detached element, which nothing else on the page hears.
 */
function renderNow(editable: HTMLElement, work: () => void): void {
  const target = editable.ownerDocument.createElement('span');
  let failure: { error: unknown } | null = null;
  target.addEventListener(
    'input',
    () => {
      try {
        work();
      } catch (error) {
        failure = { error };
      }
    },
    { once: true },
  );
  target.dispatchEvent(new Event('input'));
  if (failure) throw (failure as { error: unknown }).error;
}

export const slate: AdapterFactory = (root, events) => {
  const editable = (root.closest('[data-slate-editor]') as HTMLElement | null) ?? root;
  const editor = findEditor(editable);
  if (!editor) return 'Slate was found, but not its editor (Tandem finds it through React)';
  // Before 0.100 the editor has no `withoutNormalizing` of its own: Slate would normalize between
  // the steps of one change (merging back a text just split to format part of it).
  if (typeof editor.withoutNormalizing !== 'function') return 'this version of Slate is not supported (Tandem needs Slate 0.100 or later)';

  const model = new SlateModel(editor);

  const read = () => {
    const out = new RichTextBuilder(STYLES);
    for (const line of model.layout()) {
      out.line();
      for (const piece of line.pieces) if (piece.text) out.add((piece.node as SText).text, marksOf(piece.node));
    }
    return out.done();
  };

  /** Operations applied by the adapter, told apart from the person's in `onChange`. */
  const ours = new WeakSet<object>();
  const apply = (op: object): void => {
    ours.add(op);
    editor.apply(op);
  };

  const removeNode = (path: Path): void => apply({ type: 'remove_node', path, node: model.nodeAt(path) });
  /** Removes a line, and the blocks around it that it leaves empty. */
  const removeLine = (path: Path): void => {
    removeNode(path);
    for (let up = parentOf(path); up.length > 0; up = parentOf(up)) {
      const node = model.nodeAt(up);
      if (isText(node) || node.children.length > 0) break;
      removeNode(up);
    }
  };
  /** Removes what `line` holds in [from, to): text, and voids strictly inside. */
  const removeIn = (line: Line, from: number, to: number): void => {
    for (const piece of [...line.pieces].reverse()) {
      if (piece.text) {
        const start = Math.max(from, piece.start) - piece.start;
        const end = Math.min(to, piece.start + piece.length) - piece.start;
        if (end > start) apply({ type: 'remove_text', path: piece.path, offset: start, text: (piece.node as SText).text.slice(start, end) });
      } else if (piece.start > from && piece.start < to) removeNode(piece.path);
    }
  };

  const edits: RichEdits = {
    remove(from, to) {
      let end = to;
      while (end > from) {
        const lines = model.layout();
        const first = model.lineAt(lines, from);
        const firstEnd = first.start + first.length;
        if (end <= firstEnd) return removeIn(first, from, end);
        if (from < firstEnd) {
          removeIn(first, from, firstEnd);
          end -= firstEnd - from;
          continue;
        }
        // `from` is at the end of the first line: what follows is the line break, then the next line.
        const next = lines[lines.indexOf(first) + 1];
        if (!next) return;
        if (end >= next.start + next.length) {
          removeLine(next.path);
          end -= next.length + 1;
        } else if (end > next.start) {
          removeIn(next, next.start, end);
          end = next.start;
        } else {
          // Only the line break: the next line's content joins the first line (which keeps its kind).
          const children = (model.nodeAt(next.path) as SElement).children;
          const at = (model.nodeAt(first.path) as SElement).children.length;
          children.forEach((child, i) => apply({ type: 'insert_node', path: [...first.path, at + i], node: structuredClone(child) }));
          removeLine(next.path);
          end -= 1;
        }
      }
    },
    insert(at, text, marks) {
      const line = model.lineAt(model.layout(), at);
      const candidates = model.textsAt(line, at);
      const same = candidates.find((p) => sameMarks(marksOf(p.node), marks));
      if (same) return apply({ type: 'insert_text', path: same.path, offset: at - same.start, text });
      const node = { text, ...propsFor(marks) };
      const piece = candidates[0];
      if (!piece) return apply({ type: 'insert_node', path: [...line.path, 0], node });
      const offset = at - piece.start;
      if (offset === 0) return apply({ type: 'insert_node', path: piece.path, node });
      if (offset < piece.length) apply({ type: 'split_node', path: piece.path, position: offset, properties: propsOf(piece.node) });
      apply({ type: 'insert_node', path: nextOf(piece.path), node });
    },
    split(at) {
      const line = model.lineAt(model.layout(), at);
      const piece = model.textsAt(line, at)[0];
      // Where the split falls among the children of `path`'s parent, from the leaf up to the line.
      let path = piece?.path ?? [...line.path, 0];
      let position = piece ? lastOf(path) : 0;
      if (piece) {
        const offset = at - piece.start;
        if (offset === piece.length) position += 1;
        else if (offset > 0) {
          apply({ type: 'split_node', path, position: offset, properties: propsOf(piece.node) });
          position += 1;
        }
      }
      for (path = parentOf(path); path.length > line.path.length; path = parentOf(path)) {
        // An inline element around the point (a link): split too, unless the point is at its edge.
        const node = model.nodeAt(path) as SElement;
        if (position > 0 && position < node.children.length) apply({ type: 'split_node', path, position, properties: propsOf(node) });
        position = position === 0 ? lastOf(path) : lastOf(path) + 1;
      }
      const node = model.nodeAt(line.path) as SElement;
      if (position > 0 && position < node.children.length) apply({ type: 'split_node', path: line.path, position, properties: propsOf(node) });
      else apply({ type: 'insert_node', path: position === 0 ? line.path : nextOf(line.path), node: { ...propsOf(node), children: [{ text: '' }] } });
    },
    format(from, to, marks) {
      const line = model.lineAt(model.layout(), from);
      for (const piece of [...line.pieces].reverse()) {
        if (!piece.text) continue;
        const start = Math.max(from, piece.start) - piece.start;
        const end = Math.min(to, piece.start + piece.length) - piece.start;
        if (end <= start) continue;
        const wanted = propsFor(marks, piece.node);
        const properties: Record<string, unknown> = {};
        const newProperties: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(wanted)) {
          if ((piece.node[name] ?? null) === value) continue;
          properties[name] = piece.node[name] ?? null;
          newProperties[name] = value;
        }
        if (Object.keys(newProperties).length === 0) continue;
        let path = piece.path;
        if (end < piece.length) apply({ type: 'split_node', path, position: end, properties: propsOf(piece.node) });
        if (start > 0) {
          apply({ type: 'split_node', path, position: start, properties: propsOf(piece.node) });
          path = nextOf(path);
        }
        apply({ type: 'set_node', path, properties, newProperties });
      }
    },
  };

  /** The text offset of a model point (a point inside a void: where the void is). */
  const modelSelection = (): TextSelection | null => {
    const selection = editor.selection;
    if (!selection) return null;
    const lines = model.layout();
    return { anchor: model.offsetOf(lines, selection.anchor), head: model.offsetOf(lines, selection.focus) };
  };
  const setSelection = ({ anchor, head }: TextSelection): void => {
    const lines = model.layout();
    const a = model.pointAt(lines, anchor);
    const h = model.pointAt(lines, head);
    if (!a || !h) return;
    const old = editor.selection;
    apply({ type: 'set_selection', properties: old ? { anchor: old.anchor, focus: old.focus } : null, newProperties: { anchor: a, focus: h } });
  };

  // The DOM: slate-react renders every text leaf as a [data-slate-node="text"] element, in
  // document order, its text in [data-slate-string] (or [data-slate-zero-width] when empty).
  const textLeaves = (): SText[] => {
    const out: SText[] = [];
    const visit = (node: SNode): void => {
      if (isText(node)) out.push(node);
      else node.children.forEach(visit);
    };
    editor.children.forEach(visit);
    return out;
  };
  const textElements = (): Element[] => [...editable.querySelectorAll('[data-slate-node="text"]')].filter((el) => el.closest('[data-slate-editor]') === editable);
  const stringsOf = (el: Element): Element[] => [...el.querySelectorAll('[data-slate-string], [data-slate-zero-width]')];
  const lengthOf = (s: Element): number => (s.hasAttribute('data-slate-zero-width') ? 0 : (s.textContent?.length ?? 0));
  /** The rendered element of a text leaf, when the rendering is the model's (else null: a render is pending). */
  const elementOf = (leaf: SText, leaves = textLeaves(), elements = textElements()): Element | null => {
    if (leaves.length !== elements.length) return null;
    const el = elements[leaves.indexOf(leaf)];
    if (!el) return null;
    const shown = stringsOf(el)
      .map((s) => (s.hasAttribute('data-slate-zero-width') ? '' : (s.textContent ?? '')))
      .join('');
    return shown === leaf.text ? el : null;
  };

  const domPoint = (lines: Line[], offset: number): [Node, number] | null => {
    const line = model.lineAt(lines, offset);
    const piece = model.textsAt(line, offset)[0];
    const el = piece && elementOf(piece.node as SText);
    if (!piece || !el) return null;
    let rest = offset - piece.start;
    const strings = stringsOf(el);
    for (const s of strings) {
      const length = lengthOf(s);
      const text = s.firstChild;
      if (text && rest <= length) return [text, s.hasAttribute('data-slate-zero-width') ? 0 : rest];
      rest -= length;
    }
    return null;
  };

  /** The text offset of a DOM point inside a rendered text leaf (null elsewhere, or when the rendering is behind the model). */
  const offsetAtDom = (lines: Line[], node: Node | null, offset: number): number | null => {
    const el = (node instanceof Element ? node : node?.parentElement)?.closest('[data-slate-node="text"]');
    if (!el || !node) return null;
    const leaves = textLeaves();
    const elements = textElements();
    const leaf = leaves[elements.indexOf(el)];
    if (!leaf || elementOf(leaf, leaves, elements) !== el) return null;
    const piece = lines.flatMap((l) => l.pieces).find((p) => p.node === leaf);
    if (!piece) return null;
    let at = 0;
    for (const s of stringsOf(el)) {
      if (s.contains(node)) return piece.start + (s.hasAttribute('data-slate-zero-width') || node === s ? 0 : Math.min(at + offset, piece.length));
      at += lengthOf(s);
    }
    return null;
  };

  const focused = (): boolean => holdsFocus(editable);

  // The person moved the caret (keys, pointer) since the model last took the DOM's selection.
  let moved = false;
  const onMove = (): void => {
    moved = true;
  };
  editable.addEventListener('keydown', onMove, true);
  editable.addEventListener('pointerup', onMove, true);

  /** Takes the DOM's selection into the model when the person moved it and slate-react has not yet. */
  const syncSelection = (always = false): void => {
    if ((!moved && !always) || !focused()) return;
    const dom = editable.ownerDocument.getSelection();
    if (!dom?.anchorNode || !dom.focusNode) return;
    const lines = model.layout();
    const anchor = offsetAtDom(lines, dom.anchorNode, dom.anchorOffset);
    const head = offsetAtDom(lines, dom.focusNode, dom.focusOffset);
    if (anchor === null || head === null) return;
    moved = false;
    const now = modelSelection();
    if (now?.anchor !== anchor || now.head !== head) setSelection({ anchor, head });
  };
  // As soon as the browser says the person's selection moved, not up to 100 ms later as
  // slate-react does: a collaborator's change re-renders the editor, and slate-react then draws
  // its model's selection, so a Shift+Arrow it had not read yet would be undone.
  const onSelectionChange = (): void => syncSelection(true);
  editable.ownerDocument.addEventListener('selectionchange', onSelectionChange);

  // Local changes: every onChange whose operations are not all ours.
  const ownOnChange = editor.onChange;
  let bound = true;
  const onChange = (options?: unknown): void => {
    if (bound) {
      const changes = editor.operations.filter((op) => (op as { type?: string }).type !== 'set_selection');
      if (changes.some((op) => !ours.has(op))) events.changed();
      else if (editor.operations.some((op) => !ours.has(op))) events.selected();
      // A change of ours (a collaborator's edit, a selection we set) is rendered at once; the
      // person's own changes come from events, which React renders at once anyway.
      if (editor.operations.some((op) => ours.has(op))) renderNow(editable, () => ownOnChange.call(editor, options));
      else ownOnChange.call(editor, options);
    } else ownOnChange.call(editor, options);
  };
  editor.onChange = onChange;

  // Undo and redo: Tandem's while bound; slate-history's stacks are emptied (see above).
  const own = { undo: editor.undo, redo: editor.redo };
  const forget = (): void => {
    if (editor.history && Array.isArray(editor.history.undos)) {
      editor.history.undos = [];
      editor.history.redos = [];
    }
  };
  const undo = (): void => (bound ? events.undo(false) : own.undo?.call(editor));
  const redo = (): void => (bound ? events.undo(true) : own.redo?.call(editor));
  editor.undo = undo;
  editor.redo = redo;
  forget();

  const adapter: EditorAdapter = {
    rich: true,
    styles: STYLES,
    read,
    apply(delta) {
      syncSelection();
      const text = read().text;
      editor.withoutNormalizing(() => applyAsEdits(delta, text, edits));
      forget();
    },
    selection(): TextSelection | null {
      syncSelection();
      return modelSelection();
    },
    select(selection) {
      setSelection(selection);
    },
    rects(from, to): Rect[] {
      const lines = model.layout();
      const start = domPoint(lines, from);
      const end = from === to ? start : domPoint(lines, to);
      return pointRects(start, end);
    },
    flush: () => syncSelection(),
    focused,
    destroy() {
      bound = false;
      editable.removeEventListener('keydown', onMove, true);
      editable.removeEventListener('pointerup', onMove, true);
      editable.ownerDocument.removeEventListener('selectionchange', onSelectionChange);
      if (editor.onChange === onChange) editor.onChange = ownOnChange;
      if (editor.undo === undo) editor.undo = own.undo;
      if (editor.redo === redo) editor.redo = own.redo;
      forget();
    },
  };
  return adapter;
};

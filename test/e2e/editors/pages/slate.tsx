/**
 * Slate as sites use it: `slate-react`'s <Slate> and <Editable> with the history plugin, rendered
 * with the project's React, marks and blocks as Slate's rich-text example has them (Ctrl+B, I,
 * U and ` toggle bold, italic, underline and code; headings, quotes and lists render). The tests
 * read the editor's model (its children and selection) and where slate-react draws a caret.
 */
import { useState, type KeyboardEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { Editor, Element, Node, Path, Range, type Text, Transforms, createEditor, type BaseEditor, type Descendant, type NodeEntry, type Point } from 'slate';
import { type HistoryEditor, withHistory } from 'slate-history';
import { Editable, ReactEditor, Slate, withReact, type RenderElementProps, type RenderLeafProps } from 'slate-react';
import { type EditorTestApi, expose } from './expose';

type MarkName = 'bold' | 'italic' | 'underline' | 'code' | 'strikethrough';
type SlateText = { text: string } & Partial<Record<MarkName, boolean>>;
type SlateElement = { type?: string; children: Descendant[] };
declare module 'slate' {
  interface CustomTypes {
    Editor: BaseEditor & ReactEditor & HistoryEditor;
    Element: SlateElement;
    Text: SlateText;
  }
}

const MARKS: readonly MarkName[] = ['bold', 'italic', 'underline', 'code', 'strikethrough'];
const TANDEM: Record<MarkName, string> = { bold: 'bold', italic: 'italic', underline: 'underline', code: 'code', strikethrough: 'strike' };
const HOTKEYS: Record<string, MarkName> = { b: 'bold', i: 'italic', u: 'underline', '`': 'code' };

const initial = (): Descendant[] => [
  { type: 'paragraph', children: [{ text: 'Start here.' }] },
  { type: 'paragraph', children: [{ text: 'Second line.' }] },
];

function toggleMark(editor: Editor, mark: MarkName): void {
  if (Editor.marks(editor)?.[mark]) Editor.removeMark(editor, mark);
  else Editor.addMark(editor, mark, true);
}

function Leaf({ attributes, children, leaf }: RenderLeafProps): React.JSX.Element {
  let out = children;
  if (leaf.bold) out = <strong>{out}</strong>;
  if (leaf.italic) out = <em>{out}</em>;
  if (leaf.underline) out = <u>{out}</u>;
  if (leaf.strikethrough) out = <s>{out}</s>;
  if (leaf.code) out = <code>{out}</code>;
  return <span {...attributes}>{out}</span>;
}

function Block({ attributes, children, element }: RenderElementProps): React.JSX.Element {
  switch (element.type) {
    case 'heading-one':
      return <h1 {...attributes}>{children}</h1>;
    case 'block-quote':
      return <blockquote {...attributes}>{children}</blockquote>;
    case 'bulleted-list':
      return <ul {...attributes}>{children}</ul>;
    case 'list-item':
      return <li {...attributes}>{children}</li>;
    default:
      return (
        <p {...attributes} style={{ margin: '0 0 4px' }}>
          {children}
        </p>
      );
  }
}

const editors = new Map<string, Editor>();

function App({ id }: { id: string }): React.JSX.Element {
  const [editor] = useState(() => {
    const e = withHistory(withReact(createEditor()));
    editors.set(id, e);
    return e;
  });
  const onKeyDown = (event: KeyboardEvent): void => {
    const mark = (event.ctrlKey || event.metaKey) && HOTKEYS[event.key];
    if (!mark) return;
    event.preventDefault();
    toggleMark(editor, mark);
  };
  return (
    <Slate editor={editor} initialValue={initial()}>
      <Editable renderLeaf={Leaf} renderElement={Block} onKeyDown={onKeyDown} style={{ minHeight: 100, outline: 'none' }} />
    </Slate>
  );
}

const editor = (id: string): Editor => editors.get(id)!;

/** The blocks that hold text (Tandem's lines), in order. */
const lines = (e: Editor): NodeEntry<Element>[] => [...Editor.nodes(e, { at: [], match: (n) => Element.isElement(n) && !e.isVoid(n) && Editor.hasInlines(e, n) })] as NodeEntry<Element>[];
/** A line's text leaves, voids left out. */
const leaves = (e: Editor, [line, path]: NodeEntry<Element>): NodeEntry<Text>[] =>
  [...Node.texts(line)].filter(([, p]) => !Editor.void(e, { at: [...path, ...p] })).map(([t, p]) => [t, [...path, ...p]]);

function text(e: Editor): string {
  return lines(e)
    .map((entry) =>
      leaves(e, entry)
        .map(([t]) => t.text)
        .join(''),
    )
    .join('\n');
}

function offsetOf(e: Editor, point: Point): number {
  let start = 0;
  for (const entry of lines(e)) {
    let at = start;
    for (const [t, p] of leaves(e, entry)) {
      if (Path.equals(p, point.path)) return at + point.offset;
      at += t.text.length;
    }
    start = at + 1;
  }
  throw new Error(`the point ${JSON.stringify(point)} is not in a line`);
}

/** The point at a text offset (the end of the leaf before it at a boundary). */
function pointAt(e: Editor, offset: number): Point {
  let start = 0;
  for (const entry of lines(e)) {
    let at = start;
    for (const [t, p] of leaves(e, entry)) {
      if (offset <= at + t.text.length) return { path: p, offset: offset - at };
      at += t.text.length;
    }
    start = at + 1;
  }
  throw new Error(`offset ${offset} is past the end`);
}

const api: EditorTestApi = {
  root: (id) => ReactEditor.toDOMNode(editor(id), editor(id)),
  text: (id) => text(editor(id)),
  rich: (id) => {
    const e = editor(id);
    const out: { insert: string; attributes?: Record<string, unknown> }[] = [];
    const push = (insert: string, attributes: Record<string, unknown>): void => {
      const last = out[out.length - 1];
      if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes)) last.insert += insert;
      else out.push(Object.keys(attributes).length > 0 ? { insert, attributes } : { insert });
    };
    lines(e).forEach((entry, i) => {
      if (i > 0) push('\n', {});
      for (const [t] of leaves(e, entry)) {
        const attributes: Record<string, unknown> = {};
        for (const m of MARKS) if (t[m]) attributes[TANDEM[m]] = true;
        push(t.text, attributes);
      }
    });
    return out;
  },
  selection: (id) => {
    const e = editor(id);
    return e.selection ? { anchor: offsetOf(e, e.selection.anchor), head: offsetOf(e, e.selection.focus) } : null;
  },
  select: (id, anchor, head) => {
    const e = editor(id);
    ReactEditor.focus(e);
    const range: Range = { anchor: pointAt(e, anchor), focus: pointAt(e, head) };
    Transforms.select(e, range);
    // The DOM's selection too, at once: slate-react draws the model's after its next render,
    // and keys pressed before that would land where the DOM's was.
    const dom = ReactEditor.toDOMRange(e, range);
    const selection = window.getSelection()!;
    selection.setBaseAndExtent(dom.startContainer, dom.startOffset, dom.endContainer, dom.endOffset);
    if (Range.isBackward(range)) selection.setBaseAndExtent(dom.endContainer, dom.endOffset, dom.startContainer, dom.startOffset);
  },
  caret: (id, offset) => {
    const e = editor(id);
    const point = pointAt(e, offset);
    const range = ReactEditor.toDOMRange(e, { anchor: point, focus: point });
    const r = range.getClientRects()[0] ?? range.getBoundingClientRect();
    return { left: r.left, top: r.top, height: r.height };
  },
  // Model and rendering agree: every text leaf is rendered, showing its text.
  healthy: (id) => {
    const e = editor(id);
    return [...Node.texts(e)].every(([t]) => {
      try {
        const el = ReactEditor.toDOMNode(e, t);
        const shown = [...el.querySelectorAll('[data-slate-string]')].map((s) => s.textContent ?? '').join('');
        return shown === t.text;
      } catch {
        return false;
      }
    });
  },
};

for (const id of ['plain', 'shared']) createRoot(document.getElementById(id)!).render(<App id={id} />);
// React renders in a task of its own: the page is ready once both editors are in it.
const ready = (): void => {
  if (editors.size === 2 && document.querySelectorAll('[data-slate-editor]').length === 2) expose(api);
  else requestAnimationFrame(ready);
};
ready();

/**
 * Lexical as sites use it without React: `createEditor` on a contenteditable, the rich-text
 * and history plugins (their keys: Enter, Backspace, Ctrl+B, Ctrl+Z), headings and quotes, a
 * theme that draws the formats. Everything the tests read goes through the editor state
 * (`$getRoot`, `$getSelection`) and the editor's own DOM map for where a caret is drawn.
 */
import { createEmptyHistoryState, registerHistory } from '@lexical/history';
import { HeadingNode, QuoteNode, registerRichText } from '@lexical/rich-text';
import {
  $createParagraphNode,
  $createTextNode,
  $getRoot,
  $getSelection,
  $isElementNode,
  $isLineBreakNode,
  $isRangeSelection,
  $isTextNode,
  createEditor,
  type ElementNode,
  type LexicalEditor,
  type LexicalNode,
  type PointType,
} from 'lexical';
import { expose } from './expose';

const MARKS = ['bold', 'italic', 'underline', 'strikethrough', 'code'] as const;
const TANDEM: Record<string, string> = { bold: 'bold', italic: 'italic', underline: 'underline', strikethrough: 'strike', code: 'code' };

const editors = new Map<string, LexicalEditor>();
for (const id of ['plain', 'shared']) {
  const root = document.createElement('div');
  root.contentEditable = 'true';
  root.style.minHeight = '100px';
  root.style.outline = 'none';
  document.getElementById(id)!.append(root);
  const editor = createEditor({
    namespace: id,
    nodes: [HeadingNode, QuoteNode],
    onError: (error) => {
      throw error;
    },
    theme: { paragraph: 'p', text: { bold: 'b', italic: 'i', underline: 'u', strikethrough: 's', code: 'c' } },
  });
  editor.setRootElement(root);
  registerRichText(editor);
  registerHistory(editor, createEmptyHistoryState(), 300);
  editor.update(
    () => {
      $getRoot()
        .clear()
        .append($createParagraphNode().append($createTextNode('Start here.')), $createParagraphNode().append($createTextNode('Second line.')));
    },
    { discrete: true, tag: 'historic' },
  );
  editors.set(id, editor);
}
const style = document.createElement('style');
style.textContent = '.b { font-weight: bold } .i { font-style: italic } .u { text-decoration: underline } .s { text-decoration: line-through } .c { font-family: monospace } .p { margin: 0 0 4px }';
document.head.append(style);

const editor = (id: string): LexicalEditor => editors.get(id)!;

/** The blocks that hold text (Tandem's lines), in order. */
function $lines(): ElementNode[] {
  const out: ElementNode[] = [];
  const visit = (el: ElementNode): void => {
    const children = el.getChildren();
    if (el !== $getRoot() && children.every((c) => !$isElementNode(c) || c.isInline())) out.push(el);
    else for (const c of children) if ($isElementNode(c)) visit(c);
  };
  visit($getRoot());
  return out;
}

/** A line's text pieces in order (text nodes and line breaks, through inline elements). */
function $pieces(line: ElementNode): LexicalNode[] {
  const out: LexicalNode[] = [];
  const visit = (node: LexicalNode): void => {
    if ($isElementNode(node)) node.getChildren().forEach(visit);
    else if ($isTextNode(node) || $isLineBreakNode(node)) out.push(node);
  };
  line.getChildren().forEach(visit);
  return out;
}

const $text = (): string =>
  $lines()
    .map((l) =>
      $pieces(l)
        .map((p) => ($isLineBreakNode(p) ? '\n' : p.getTextContent()))
        .join(''),
    )
    .join('\n');

function $offsetOf(point: PointType): number {
  let start = 0;
  for (const line of $lines()) {
    let at = start;
    const node = point.getNode();
    if (point.type === 'element' && node.is(line)) {
      const children = line.getChildren();
      for (let i = 0; i < point.offset && i < children.length; i++) at += children[i]!.getTextContentSize();
      return at;
    }
    for (const piece of $pieces(line)) {
      if (piece.is(node)) return at + point.offset;
      at += $isLineBreakNode(piece) ? 1 : piece.getTextContentSize();
    }
    start = at + 1;
  }
  throw new Error('the point is not in a line');
}

/** The text node and offset at a text offset (the end of the text before it at a boundary), or the empty line. */
function $nodeAt(offset: number): { node: LexicalNode; offset: number } {
  let start = 0;
  for (const line of $lines()) {
    const pieces = $pieces(line);
    const length = pieces.reduce((n, p) => n + ($isLineBreakNode(p) ? 1 : p.getTextContentSize()), 0);
    if (offset <= start + length) {
      let at = start;
      for (const piece of pieces) {
        const size = $isLineBreakNode(piece) ? 1 : piece.getTextContentSize();
        if ($isTextNode(piece) && offset <= at + size) return { node: piece, offset: offset - at };
        at += size;
      }
      return { node: line, offset: line.getChildrenSize() };
    }
    start += length + 1;
  }
  throw new Error(`offset ${offset} is past the end`);
}

expose({
  root: (id) => editor(id).getRootElement()!,
  text: (id) => editor(id).getEditorState().read($text),
  rich: (id) =>
    editor(id)
      .getEditorState()
      .read(() => {
        const out: { insert: string; attributes?: Record<string, unknown> }[] = [];
        const push = (insert: string, attributes: Record<string, unknown>): void => {
          const last = out[out.length - 1];
          if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes)) last.insert += insert;
          else out.push(Object.keys(attributes).length > 0 ? { insert, attributes } : { insert });
        };
        $lines().forEach((line, i) => {
          if (i > 0) push('\n', {});
          for (const piece of $pieces(line)) {
            const attributes: Record<string, unknown> = {};
            if ($isTextNode(piece)) for (const m of MARKS) if (piece.hasFormat(m)) attributes[TANDEM[m]!] = true;
            push($isLineBreakNode(piece) ? '\n' : piece.getTextContent(), attributes);
          }
        });
        return out;
      }),
  selection: (id) =>
    editor(id)
      .getEditorState()
      .read(() => {
        const selection = $getSelection();
        if (!$isRangeSelection(selection)) return null;
        return { anchor: $offsetOf(selection.anchor), head: $offsetOf(selection.focus) };
      }),
  select: (id, anchor, head) => {
    const e = editor(id);
    e.getRootElement()!.focus();
    e.update(
      () => {
        const a = $nodeAt(anchor);
        const h = $nodeAt(head);
        const selection = a.node.isAttached() && $isTextNode(a.node) ? a.node.select(a.offset, a.offset) : (a.node as ElementNode).select(a.offset, a.offset);
        selection.focus.set(h.node.getKey(), h.offset, $isTextNode(h.node) ? 'text' : 'element');
      },
      { discrete: true },
    );
  },
  caret: (id, offset) => {
    const e = editor(id);
    return e.getEditorState().read(() => {
      const { node, offset: at } = $nodeAt(offset);
      const el = e.getElementByKey(node.getKey());
      if (!el) return null;
      const range = document.createRange();
      const text = $isTextNode(node) ? document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode() : null;
      if (text) range.setStart(text, at);
      else range.setStart(el, 0);
      const r = range.getClientRects()[0] ?? el.getBoundingClientRect();
      return { left: r.left, top: r.top, height: r.height };
    });
  },
  // Model and rendering agree: each line's DOM shows its text nodes, in order, and each piece is drawn inside it.
  healthy: (id) => {
    const e = editor(id);
    return e.getEditorState().read(() =>
      $lines().every((line) => {
        const dom = e.getElementByKey(line.getKey());
        if (!dom) return false;
        const pieces = $pieces(line);
        const shown = [...dom.querySelectorAll('[data-lexical-text]')].map((el) => el.textContent ?? '').join('');
        const texts = pieces
          .filter($isTextNode)
          .map((p) => p.getTextContent())
          .join('');
        return shown === texts && pieces.every((p) => dom.contains(e.getElementByKey(p.getKey())));
      }),
    );
  },
});

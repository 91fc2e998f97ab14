/**
 * CKEditor 5 as sites use it: ClassicEditor with the usual plugins (Essentials, paragraphs, the
 * basic styles, code, links, undo) and its toolbar, started from HTML (`initialData`).
 * Everything the tests read goes through CKEditor's model (text, formatting, selection) and its
 * editing mapper (where it draws a caret).
 */
import { Bold, ClassicEditor, Code, Essentials, Italic, Link, Paragraph, Strikethrough, Underline, Undo, type ModelElement, type ModelPosition } from 'ckeditor5';
import 'ckeditor5/ckeditor5.css';
import { expose } from './expose';

/** CKEditor's text attributes → Tandem's marks. */
const MARKS: Record<string, string> = { bold: 'bold', italic: 'italic', underline: 'underline', strikethrough: 'strike', code: 'code', linkHref: 'link' };

const editors = new Map<string, ClassicEditor>();
const created = ['plain', 'shared'].map(async (id) => {
  editors.set(
    id,
    await ClassicEditor.create(document.getElementById(id)!, {
      licenseKey: 'GPL',
      plugins: [Essentials, Paragraph, Bold, Italic, Underline, Strikethrough, Code, Link, Undo],
      toolbar: ['undo', 'redo', '|', 'bold', 'italic', 'underline', 'strikethrough', 'code', '|', 'link'],
      initialData: '<p>Start here.</p><p>Second line.</p>',
    }),
  );
});
const editor = (id: string): ClassicEditor => editors.get(id)!;

/** The model's textblocks in order: Tandem's lines. */
function lines(id: string): ModelElement[] {
  const e = editor(id);
  const out: ModelElement[] = [];
  const visit = (el: ModelElement): void => {
    if (e.model.schema.checkChild(el, '$text')) out.push(el);
    else for (const child of el.getChildren()) if (child.is('element')) visit(child);
  };
  visit(e.model.document.getRoot()!);
  return out;
}

/** A textblock's children as Tandem text: text, soft breaks as `\n`, inline objects as nothing. */
function pieces(block: ModelElement): { text: string; attributes: Record<string, unknown>; size: number }[] {
  return [...block.getChildren()].map((child) => {
    if (child.is('$text')) {
      const attributes: Record<string, unknown> = {};
      for (const [k, v] of child.getAttributes()) if (MARKS[k]) attributes[MARKS[k]] = v;
      return { text: child.data, attributes, size: child.offsetSize };
    }
    return { text: child.is('element', 'softBreak') ? '\n' : '', attributes: {}, size: child.offsetSize };
  });
}

function offsetOf(id: string, position: ModelPosition): number {
  let start = 0;
  for (const block of lines(id)) {
    if (position.parent === block) {
      let offset = start;
      let at = 0;
      for (const p of pieces(block)) {
        if (position.offset <= at) break;
        offset += position.offset >= at + p.size ? p.text.length : Math.min(p.text.length, position.offset - at);
        at += p.size;
      }
      return offset;
    }
    start += pieces(block).reduce((n, p) => n + p.text.length, 0) + 1;
  }
  throw new Error('the position is not in a textblock');
}

function positionOf(id: string, offset: number): ModelPosition {
  const e = editor(id);
  let start = 0;
  for (const block of lines(id)) {
    const length = pieces(block).reduce((n, p) => n + p.text.length, 0);
    if (offset <= start + length) {
      let rest = offset - start;
      let at = 0;
      for (const p of pieces(block)) {
        if (rest <= p.text.length && p.text.length > 0) return e.model.createPositionAt(block, at + rest);
        rest -= p.text.length;
        at += p.size;
      }
      return e.model.createPositionAt(block, at);
    }
    start += length + 1;
  }
  throw new Error(`offset ${offset} is past the end`);
}

const text = (id: string): string =>
  lines(id)
    .map((block) =>
      pieces(block)
        .map((p) => p.text)
        .join(''),
    )
    .join('\n');

void Promise.all(created).then(() =>
  expose({
    root: (id) => editor(id).ui.getEditableElement()!,
    text,
    rich: (id) => {
      const out: { insert: string; attributes?: Record<string, unknown> }[] = [];
      const push = (insert: string, attributes: Record<string, unknown>): void => {
        const last = out[out.length - 1];
        if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes)) last.insert += insert;
        else out.push(Object.keys(attributes).length > 0 ? { insert, attributes } : { insert });
      };
      lines(id).forEach((block, i) => {
        if (i > 0) push('\n', {});
        for (const p of pieces(block)) if (p.text) push(p.text, p.text === '\n' ? {} : p.attributes);
      });
      return out;
    },
    selection: (id) => {
      const selection = editor(id).model.document.selection;
      if (!selection.anchor || !selection.focus) return null;
      return { anchor: offsetOf(id, selection.anchor), head: offsetOf(id, selection.focus) };
    },
    select: (id, anchor, head) => {
      const e = editor(id);
      e.editing.view.focus();
      e.model.change((writer) => {
        const a = positionOf(id, anchor);
        const h = positionOf(id, head);
        writer.setSelection(writer.createRange(a.isAfter(h) ? h : a, a.isAfter(h) ? a : h), { backward: a.isAfter(h) });
      });
    },
    caret: (id, offset) => {
      const e = editor(id);
      const view = e.editing.mapper.toViewPosition(positionOf(id, offset));
      const dom = e.editing.view.domConverter.viewPositionToDom(view);
      if (!dom) return null;
      let { parent, offset: at } = dom;
      // A caret between nodes is drawn at the text beside it.
      if (parent.nodeType === Node.ELEMENT_NODE) {
        const after = parent.childNodes[at];
        const before = parent.childNodes[at - 1];
        if (after?.nodeType === Node.TEXT_NODE) [parent, at] = [after, 0];
        else if (before?.nodeType === Node.TEXT_NODE) [parent, at] = [before, (before as Text).length];
      }
      const range = document.createRange();
      range.setStart(parent, at);
      const r = range.getClientRects()[0] ?? (parent.nodeType === Node.ELEMENT_NODE ? (parent as Element) : parent.parentElement!).getBoundingClientRect();
      return { left: r.left, top: r.top, height: r.height };
    },
    // Model and rendering agree: each textblock's DOM shows its text (soft breaks as <br>).
    healthy: (id) => {
      const e = editor(id);
      return lines(id).every((block) => {
        const viewElement = e.editing.mapper.toViewElement(block);
        const dom = viewElement && e.editing.view.domConverter.mapViewToDom(viewElement);
        if (!dom) return false;
        const shown = [...dom.childNodes].map((n) => (n.nodeName === 'BR' ? ((n as Element).hasAttribute('data-cke-filler') ? '' : '\n') : (n.textContent ?? ''))).join('');
        // CKEditor draws a space at a block's edge or after another space as a no-break space, and keeps fillers (U+2060) where the caret needs a text node.
        return (
          shown.replace(/\u2060/g, '').replace(/\u00a0/g, ' ') ===
          pieces(block)
            .map((p) => p.text.replace(/\u00a0/g, ' '))
            .join('')
        );
      });
    },
  }),
);

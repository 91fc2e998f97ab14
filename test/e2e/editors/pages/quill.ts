/**
 * Quill 2 as sites use it: the snow theme and its toolbar (which includes the history module's
 * keys), content given as HTML in the container. Bundled, so the page has no `window.Quill` and
 * the adapter must find the instances without it; `?global` exposes `window.Quill` as a page
 * that loads Quill from a script tag has it.
 */
import Quill from 'quill';
import 'quill/dist/quill.snow.css';
import { expose } from './expose';

if (new URLSearchParams(location.search).has('global')) (window as { Quill?: typeof Quill }).Quill = Quill;

const TANDEM_MARKS = ['bold', 'italic', 'underline', 'strike', 'code', 'link'];

const editors = new Map<string, Quill>();
for (const id of ['plain', 'shared']) {
  const container = document.getElementById(id)!;
  container.innerHTML = '<p>Start here.</p><p>Second line.</p>';
  editors.set(
    id,
    new Quill(container, {
      theme: 'snow',
      modules: { toolbar: [['bold', 'italic', 'underline', 'strike'], ['code', 'link'], [{ header: [1, 2, false] }, { list: 'bullet' }], ['clean']] },
    }),
  );
}
const quill = (id: string): Quill => editors.get(id)!;

/** Quill indices of the embeds (zero length in Tandem's text). */
function embeds(q: Quill): number[] {
  const out: number[] = [];
  let at = 0;
  for (const op of q.getContents().ops) {
    if (typeof op.insert === 'string') at += op.insert.length;
    else {
      out.push(at);
      at += 1;
    }
  }
  return out;
}
const toOffset = (q: Quill, index: number): number => index - embeds(q).filter((e) => e < index).length;
const toIndex = (q: Quill, offset: number): number => {
  let index = offset;
  for (const e of embeds(q)) if (e < index) index++;
  return index;
};

expose({
  root: (id) => quill(id).container,
  // getText leaves embeds out; Tandem's text is without the final newline Quill always holds.
  text: (id) => quill(id).getText().slice(0, -1),
  rich: (id) => {
    const out: { insert: string; attributes?: Record<string, unknown> }[] = [];
    for (const op of quill(id).getContents().ops) {
      if (typeof op.insert !== 'string') continue;
      const parts = op.insert.split(/(\n)/);
      for (const part of parts) {
        if (part === '') continue;
        const attributes: Record<string, unknown> = {};
        if (part !== '\n') for (const k of TANDEM_MARKS) if (op.attributes?.[k] != null) attributes[k] = op.attributes[k];
        const last = out[out.length - 1];
        if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes)) last.insert += part;
        else out.push(Object.keys(attributes).length > 0 ? { insert: part, attributes } : { insert: part });
      }
    }
    const last = out[out.length - 1];
    if (last) last.insert = last.insert.slice(0, -1);
    return out.filter((op) => op.insert !== '');
  },
  selection: (id) => {
    const range = quill(id).getSelection();
    if (!range) return null;
    const anchor = toOffset(quill(id), range.index);
    const head = toOffset(quill(id), range.index + range.length);
    return { anchor, head };
  },
  select: (id, anchor, head) => {
    const q = quill(id);
    q.focus();
    const a = toIndex(q, Math.min(anchor, head));
    q.setSelection(a, toIndex(q, Math.max(anchor, head)) - a, 'user');
  },
  caret: (id, offset) => {
    const q = quill(id);
    const b = q.getBounds(toIndex(q, offset), 0);
    if (!b) return null;
    const c = q.container.getBoundingClientRect();
    return { left: c.left + b.left, top: c.top + b.top, height: b.height };
  },
  // Model and rendering agree: one rendered block per line, each showing its line's text.
  healthy: (id) => {
    const q = quill(id);
    q.update(); // anything typed and not yet read from the DOM, as Quill itself would read it
    const lines = q.getLines();
    if (lines.length !== q.root.children.length) return false;
    return lines.every((line, i) => {
      const index = q.getIndex(line);
      return q.root.children[i] === line.domNode && (line.domNode.textContent ?? '') === q.getText(index, line.length() - 1);
    });
  },
});

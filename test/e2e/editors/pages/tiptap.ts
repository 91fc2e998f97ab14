/** Tiptap with its StarterKit (history, bold/italic/strike/code/underline/link, lists). */
import { Editor } from '@tiptap/core';
import { TextSelection } from '@tiptap/pm/state';
import StarterKit from '@tiptap/starter-kit';
import { expose } from './expose';
import { offset, position, rich, text } from './pm-model';

const editors = new Map<string, Editor>();
for (const id of ['plain', 'shared']) {
  editors.set(id, new Editor({ element: document.getElementById(id)!, extensions: [StarterKit], content: '<p>Start here.</p><p>Second line.</p>' }));
}
const editor = (id: string): Editor => editors.get(id)!;

expose({
  root: (id) => editor(id).view.dom as HTMLElement,
  text: (id) => text(editor(id).state.doc as never),
  rich: (id) => rich(editor(id).state.doc as never),
  selection: (id) => {
    const { anchor, head } = editor(id).state.selection;
    return { anchor: offset(editor(id).state.doc as never, anchor), head: offset(editor(id).state.doc as never, head) };
  },
  select: (id, anchor, head) => {
    const e = editor(id);
    e.view.focus();
    e.view.dispatch(e.state.tr.setSelection(TextSelection.create(e.state.doc, position(e.state.doc as never, anchor), position(e.state.doc as never, head))));
  },
  caret: (id, at) => {
    const c = editor(id).view.coordsAtPos(position(editor(id).state.doc as never, at));
    return { left: c.left, top: c.top, height: c.bottom - c.top };
  },
  healthy: (id) => {
    const e = editor(id);
    return (
      (e.view.dom as HTMLElement).innerText.replace(/\n+/g, '\n').trim() ===
      text(e.state.doc as never)
        .replace(/\n+/g, '\n')
        .trim()
    );
  },
});

/** Bare ProseMirror as its examples build it: schema-basic with lists, example-setup (keymaps, history, menu). */
import 'prosemirror-view/style/prosemirror.css';
import 'prosemirror-menu/style/menu.css';
import 'prosemirror-example-setup/style/style.css';
import { exampleSetup } from 'prosemirror-example-setup';
import { DOMParser, Schema } from 'prosemirror-model';
import { schema } from 'prosemirror-schema-basic';
import { addListNodes } from 'prosemirror-schema-list';
import { EditorState, TextSelection } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { expose } from './expose';
import { offset, position, rich, text } from './pm-model';

const mySchema = new Schema({ nodes: addListNodes(schema.spec.nodes, 'paragraph block*', 'block'), marks: schema.spec.marks });
const views = new Map<string, EditorView>();
for (const id of ['plain', 'shared']) {
  const content = document.createElement('div');
  content.innerHTML = '<p>Start here.</p><p>Second line.</p>';
  const state = EditorState.create({ doc: DOMParser.fromSchema(mySchema).parse(content), plugins: exampleSetup({ schema: mySchema }) });
  // Kept in a closure only, as an application would: Tandem must find the view by itself.
  views.set(id, new EditorView(document.getElementById(id)!, { state }));
}
const view = (id: string): EditorView => views.get(id)!;

expose({
  root: (id) => view(id).dom as HTMLElement,
  text: (id) => text(view(id).state.doc),
  rich: (id) => rich(view(id).state.doc),
  selection: (id) => {
    const { anchor, head } = view(id).state.selection;
    return { anchor: offset(view(id).state.doc, anchor), head: offset(view(id).state.doc, head) };
  },
  select: (id, anchor, head) => {
    const v = view(id);
    v.focus();
    v.dispatch(v.state.tr.setSelection(TextSelection.create(v.state.doc, position(v.state.doc, anchor), position(v.state.doc, head))));
  },
  caret: (id, at) => {
    const c = view(id).coordsAtPos(position(view(id).state.doc, at));
    return { left: c.left, top: c.top, height: c.bottom - c.top };
  },
  healthy: (id) => {
    const v = view(id);
    return (v.dom as HTMLElement).innerText.replace(/\n+/g, '\n').trim() === text(v.state.doc).replace(/\n+/g, '\n').trim();
  },
});

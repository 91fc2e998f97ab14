/** CodeMirror 6 as sites use it: the `codemirror` package's basicSetup (history, brackets, indentation) with Markdown. */
import { undo } from '@codemirror/commands';
import { markdown } from '@codemirror/lang-markdown';
import { EditorState } from '@codemirror/state';
import { EditorView, basicSetup } from 'codemirror';
import { expose } from './expose';

const views = new Map<string, EditorView>();
for (const id of ['plain', 'shared']) {
  const parent = document.getElementById(id)!;
  // `?read-only`: the shared editor as a view mode shows it.
  const readOnly = id === 'shared' && location.search.includes('read-only') ? [EditorState.readOnly.of(true)] : [];
  views.set(id, new EditorView({ doc: 'Start here.\nSecond line.', extensions: [basicSetup, markdown(), readOnly], parent }));
}
const view = (id: string): EditorView => views.get(id)!;

expose({
  root: (id) => view(id).dom,
  text: (id) => view(id).state.doc.toString(),
  selection: (id) => ({ anchor: view(id).state.selection.main.anchor, head: view(id).state.selection.main.head }),
  select: (id, anchor, head) => {
    view(id).focus();
    view(id).dispatch({ selection: { anchor, head } });
  },
  caret: (id, offset) => {
    const c = view(id).coordsAtPos(offset, 1);
    return c && { left: c.left, top: c.top, height: c.bottom - c.top };
  },
  undoCommand: (id) => void undo(view(id)),
  // A tabbed editor's other file: a state of its own, shown with setState (CodeMirror's way).
  swap: (id, text) => view(id).setState(EditorState.create({ doc: text, extensions: [basicSetup, markdown()] })),
  healthy: (id) => view(id).contentDOM.textContent?.length !== undefined && view(id).state.doc.toString().split('\n').length === view(id).state.doc.lines,
});

/**
 * Monaco bundled from its ESM build (what webpack/Vite apps do) without
 * `MonacoEnvironment.globalAPI`: no `window.monaco`, and nothing on its DOM leads to the editor.
 * Tandem must refuse it and leave its text alone (this page is not in the scenario's list).
 */
import * as monaco from 'monaco-editor/editor/editor.api.js';
import { expose } from './expose';

const LF = 1; // EndOfLinePreference.LF
const editors = new Map<string, monaco.editor.IStandaloneCodeEditor>();
for (const id of ['plain', 'shared']) {
  const el = document.getElementById(id)!;
  el.style.height = '160px';
  editors.set(id, monaco.editor.create(el, { value: 'Start here.\nSecond line.', language: 'plaintext', quickSuggestions: false, minimap: { enabled: false } }));
}
const ed = (id: string): monaco.editor.IStandaloneCodeEditor => editors.get(id)!;

expose({
  root: (id) => ed(id).getDomNode()!,
  text: (id) => ed(id).getModel()!.getValue(LF),
  selection: () => null,
  select: (id, anchor, head) => {
    const model = ed(id).getModel()!;
    const a = model.getPositionAt(anchor);
    const h = model.getPositionAt(head);
    ed(id).focus();
    ed(id).setSelection({ selectionStartLineNumber: a.lineNumber, selectionStartColumn: a.column, positionLineNumber: h.lineNumber, positionColumn: h.column });
  },
  caret: () => null,
  healthy: () => true,
});

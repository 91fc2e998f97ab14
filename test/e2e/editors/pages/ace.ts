/**
 * Ace as sites use it (react-ace and most pages): `ace-builds` through `ace.edit`, with the
 * Markdown mode, the default undo manager and keyboard. The shared editor's session is in
 * Windows newline mode: Tandem's offsets count `\n`, and the page keeps its mode.
 */
import * as ace from 'ace-builds';
import 'ace-builds/src-noconflict/mode-markdown';
import { expose } from './expose';
import { drawnLines, lfOffset, lfPosition, rendersModel } from './lines';

const editors = new Map<string, ace.Ace.Editor>();
for (const id of ['plain', 'shared']) {
  const el = document.getElementById(id)!;
  el.style.height = '160px';
  const editor = ace.edit(el, { value: 'Start here.\nSecond line.', mode: 'ace/mode/markdown', fontSize: 14 });
  if (id === 'shared') editor.session.setNewLineMode('windows');
  // `?read-only`: the shared editor as a view mode shows it.
  if (id === 'shared' && location.search.includes('read-only')) editor.setReadOnly(true);
  editors.set(id, editor);
}
const ed = (id: string): ace.Ace.Editor => editors.get(id)!;
const text = (id: string): string => ed(id).session.getDocument().getAllLines().join('\n');

expose({
  root: (id) => ed(id).container,
  text,
  selection: (id) => {
    const t = text(id);
    const a = ed(id).selection.getSelectionAnchor();
    const h = ed(id).selection.getSelectionLead();
    return { anchor: lfOffset(t, a.row, a.column), head: lfOffset(t, h.row, h.column) };
  },
  select: (id, anchor, head) => {
    const e = ed(id);
    const t = text(id);
    e.focus();
    const a = lfPosition(t, anchor);
    const h = lfPosition(t, head);
    e.selection.setSelectionAnchor(a.line, a.ch);
    e.selection.selectTo(h.line, h.ch);
    if (anchor === head) e.selection.clearSelection();
  },
  caret: (id, offset) => {
    const e = ed(id);
    const p = lfPosition(text(id), offset);
    const c = e.renderer.textToScreenCoordinates(p.line, p.ch);
    return { left: c.pageX, top: c.pageY, height: e.renderer.lineHeight };
  },
  undoCommand: (id) => void ed(id).execCommand('undo'),
  swap: (id, value) => ed(id).setSession(ace.createEditSession(value, 'ace/mode/markdown' as never)),
  healthy: (id) => {
    const e = ed(id);
    e.renderer.updateFull(true); // draw now: the check is about what is drawn
    const drawn = drawnLines(e.container.querySelectorAll('.ace_text-layer .ace_line'));
    const newline = id === 'shared' ? '\r\n' : '\n';
    return rendersModel(drawn, text(id)) && e.session.getDocument().getNewLineCharacter() === newline && e.getValue() === text(id).split('\n').join(newline);
  },
});

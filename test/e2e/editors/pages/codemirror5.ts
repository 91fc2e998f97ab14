/**
 * CodeMirror 5 as sites use it: the `codemirror` 5 package (installed as `codemirror5`) with the
 * Markdown mode, line numbers and bracket closing. The shared editor keeps Windows line ends
 * (`lineSeparator: "\r\n"`): Tandem's offsets count `\n`, and the page's text must keep them.
 */
import CodeMirror from 'codemirror5';
import 'codemirror5/addon/edit/closebrackets';
import 'codemirror5/lib/codemirror.css';
import 'codemirror5/mode/markdown/markdown';
import { expose } from './expose';
import { rendersModel } from './lines';

const editors = new Map<string, CodeMirror.Editor>();
for (const id of ['plain', 'shared']) {
  const crlf = id === 'shared';
  const value = crlf ? 'Start here.\r\nSecond line.' : 'Start here.\nSecond line.';
  // `?read-only`: the shared editor as a view mode shows it.
  const readOnly = id === 'shared' && location.search.includes('read-only');
  const editor = CodeMirror(document.getElementById(id)!, { value, mode: 'markdown', lineNumbers: true, autoCloseBrackets: true, lineSeparator: crlf ? '\r\n' : null, readOnly });
  editor.setSize(null, 160); // as high as the other editors' pages: both editors and Tandem's controls fit the window
  editors.set(id, editor);
}
const cm = (id: string): CodeMirror.Editor => editors.get(id)!;
const text = (id: string): string => cm(id).getValue('\n');

expose({
  root: (id) => cm(id).getWrapperElement(),
  text,
  selection: (id) => {
    const c = cm(id);
    return {
      anchor: c.indexFromPos(c.getCursor('anchor')) - c.getCursor('anchor').line * (c.lineSeparator().length - 1),
      head: c.indexFromPos(c.getCursor('head')) - c.getCursor('head').line * (c.lineSeparator().length - 1),
    };
  },
  select: (id, anchor, head) => {
    const c = cm(id);
    const t = text(id);
    c.focus();
    const pos = (offset: number): CodeMirror.Position => {
      const before = t.slice(0, offset).split('\n');
      return CodeMirror.Pos(before.length - 1, before[before.length - 1]!.length);
    };
    c.setSelection(pos(anchor), pos(head));
  },
  caret: (id, offset) => {
    const c = cm(id);
    const before = text(id).slice(0, offset).split('\n');
    const r = c.cursorCoords(CodeMirror.Pos(before.length - 1, before[before.length - 1]!.length), 'window');
    return { left: r.left, top: r.top, height: r.bottom - r.top };
  },
  undoCommand: (id) => cm(id).execCommand('undo'),
  swap: (id, value) => void cm(id).swapDoc(new CodeMirror.Doc(value, 'markdown')),
  healthy: (id) => {
    const c = cm(id);
    const lines = [...c.getWrapperElement().querySelectorAll('.CodeMirror-code pre.CodeMirror-line')].map((l) => (l.textContent ?? '').replace(/\u200b/g, ''));
    const separator = id === 'shared' ? '\r\n' : '\n';
    return rendersModel(lines, text(id)) && c.getValue() === text(id).split('\n').join(separator) && c.lineCount() === text(id).split('\n').length;
  },
});

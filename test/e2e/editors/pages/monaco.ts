/**
 * Monaco as most sites load it: the AMD build (`min/vs`) through its own loader, the way
 * @monaco-editor/loader does from a CDN (here the package's files, served under /vendor). That
 * build sets `window.monaco`. The shared editor's model has Windows line ends: Tandem's offsets
 * count `\n`, and the page's model must keep CRLF. Quick suggestions are off: their popup takes
 * Enter for itself, so the same keys would give different text depending on the words around.
 */
import type * as Monaco from 'monaco-editor';
import { expose } from './expose';
import { drawnLines, lfOffset, lfPosition, rendersModel } from './lines';

interface AmdRequire {
  (deps: string[], loaded: () => void): void;
  config(config: object): void;
}

const LF = 1; // EndOfLinePreference.LF

function start(): void {
  const monaco = (window as unknown as { monaco: typeof Monaco }).monaco;
  const editors = new Map<string, Monaco.editor.IStandaloneCodeEditor>();
  for (const id of ['plain', 'shared']) {
    const el = document.getElementById(id)!;
    el.style.height = '160px';
    const model = monaco.editor.createModel(id === 'shared' ? 'Start here.\r\nSecond line.' : 'Start here.\nSecond line.', 'markdown');
    editors.set(id, monaco.editor.create(el, { model, quickSuggestions: false, minimap: { enabled: false }, fontSize: 14 }));
  }
  const ed = (id: string): Monaco.editor.IStandaloneCodeEditor => editors.get(id)!;
  const model = (id: string): Monaco.editor.ITextModel => ed(id).getModel()!;
  const text = (id: string): string => model(id).getValue(LF);
  const caret = (id: string, offset: number): { left: number; top: number; height: number } | null => {
    const p = lfPosition(text(id), offset);
    const v = ed(id).getScrolledVisiblePosition({ lineNumber: p.line + 1, column: p.ch + 1 });
    const box = ed(id).getDomNode()!.getBoundingClientRect();
    return v && { left: box.left + v.left, top: box.top + v.top, height: v.height };
  };
  expose({
    root: (id) => ed(id).getDomNode()!,
    text,
    selection: (id) => {
      const s = ed(id).getSelection();
      if (!s) return null;
      const t = text(id);
      return { anchor: lfOffset(t, s.selectionStartLineNumber - 1, s.selectionStartColumn - 1), head: lfOffset(t, s.positionLineNumber - 1, s.positionColumn - 1) };
    },
    select: (id, anchor, head) => {
      const t = text(id);
      const a = lfPosition(t, anchor);
      const h = lfPosition(t, head);
      ed(id).focus();
      ed(id).setSelection({ selectionStartLineNumber: a.line + 1, selectionStartColumn: a.ch + 1, positionLineNumber: h.line + 1, positionColumn: h.ch + 1 });
    },
    caret,
    scrollBy: (id, px) => ed(id).setScrollTop(ed(id).getScrollTop() + px),
    undoCommand: (id) => {
      ed(id).focus(); // the command acts on the focused editor, as from its context menu
      ed(id).trigger('menu', 'undo', null);
    },
    swap: (id, value) => ed(id).setModel(monaco.editor.createModel(value, 'markdown')),
    healthy: (id) => {
      ed(id).render(true); // draw now: the check is about what is drawn
      const drawn = drawnLines(ed(id).getDomNode()!.querySelectorAll('.view-lines .view-line'));
      const eol = id === 'shared' ? '\r\n' : '\n';
      return rendersModel(drawn, text(id)) && model(id).getEOL() === eol && model(id).getValue() === text(id).split('\n').join(eol);
    },
  });
}

const loader = document.createElement('script');
loader.src = '/vendor/monaco-editor/min/vs/loader.js';
loader.onload = () => {
  const require = (window as unknown as { require: AmdRequire }).require;
  require.config({ paths: { vs: '/vendor/monaco-editor/min/vs' } });
  require(['vs/editor/editor.main'], start);
};
document.head.append(loader);

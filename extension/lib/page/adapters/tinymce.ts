/**
 * TinyMCE. Its model is the DOM of its content body (an iframe's body, or the element itself in
 * inline mode), so the adapter reads and writes that body the way the contenteditable binding
 * does (../../content/rich-dom.ts), but through TinyMCE: from the page around the iframe, where
 * the `tinymce` global is (Tandem's UI stays out of the editor's document), with every write kept
 * out of TinyMCE's undo levels (`undoManager.ignore`) and its undo and redo commands sent to
 * Tandem's. TinyMCE's own bookkeeping in the body (bogus nodes, the zero-width characters of its
 * caret containers) is not text.
 */
import { pointAt, rangeAt, readLayout } from '../../content/rich-dom';
import { applyToElement } from '../../content/rich-dom-write';
import type { Rect, TextSelection } from '../../page-protocol';
import { rangeRects, type AdapterFactory } from '../adapter';
import { push, type Attributes, type TextDelta, type TextOp } from '../../../../shared/text/delta';
import type { RichText } from '../../../../shared/text/rich';

interface TinyEditor {
  /** Set once TinyMCE has loaded the editor's content (before that, it will overwrite whatever is in the body). */
  initialized?: boolean;
  iframeElement?: HTMLIFrameElement | null;
  inline?: boolean;
  removed?: boolean;
  getBody(): HTMLElement;
  getWin(): Window;
  getDoc(): Document;
  hasFocus(): boolean;
  focus(): void;
  nodeChanged(): void;
  setDirty(dirty: boolean): void;
  on(events: string, handler: (event: { command?: string; preventDefault(): void }) => void, prepend?: boolean): void;
  off(events: string, handler: (event: { command?: string; preventDefault(): void }) => void): void;
  undoManager: { ignore(f: () => void): void; transact?(f: () => void): void };
  selection: { getRng(): Range; setRng(range: Range): void };
}
interface TinyGlobal {
  get(): TinyEditor[] | Record<string, TinyEditor>;
  editors?: TinyEditor[];
}

const ZWNBSP = '\ufeff';

/** The TinyMCE editor whose iframe or inline body `root` is. */
function findEditor(root: HTMLElement): TinyEditor | null {
  const tiny = (globalThis as { tinymce?: TinyGlobal }).tinymce;
  if (!tiny || typeof tiny.get !== 'function') return null;
  const all = tiny.get();
  const list = Array.isArray(all) ? all : Object.values(all ?? {});
  return list.find((e) => !e.removed && (e.iframeElement === root || e.getBody() === root)) ?? null;
}

/** A raw offset (ZWNBSPs counted) as a text offset. */
export function toClean(raw: string, offset: number): number {
  let zw = 0;
  for (let i = 0; i < offset && i < raw.length; i++) if (raw[i] === ZWNBSP) zw++;
  return offset - zw;
}

/** A text offset as a raw offset (before any ZWNBSP there). */
export function toRaw(raw: string, offset: number): number {
  let seen = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === ZWNBSP) continue;
    if (seen === offset) return i;
    seen++;
  }
  return raw.length;
}

/** A delta on the text as a delta on the raw text: the ZWNBSPs in TinyMCE's caret containers are stepped over, never removed. */
export function rawDelta(delta: TextDelta, raw: string): TextDelta {
  const out: TextOp[] = [];
  let at = 0;
  const over = (n: number, op: (attributes?: Attributes) => TextOp, attributes?: Attributes): void => {
    for (let k = 0; k < n; k++) {
      while (raw[at] === ZWNBSP) {
        push(out, { retain: 1 });
        at++;
      }
      push(out, op(attributes));
      at++;
    }
  };
  for (const op of delta) {
    if ('retain' in op) over(op.retain, (a) => (a ? { retain: 1, attributes: a } : { retain: 1 }), op.attributes);
    else if ('delete' in op) over(op.delete, () => ({ delete: 1 }));
    else push(out, op);
  }
  return out;
}

/** The body's text without TinyMCE's zero-width caret characters. */
function clean(rich: RichText): RichText {
  if (!rich.text.includes(ZWNBSP)) return rich;
  let text = '';
  const marks = [];
  for (let i = 0; i < rich.text.length; i++) {
    if (rich.text[i] === ZWNBSP) continue;
    text += rich.text[i];
    marks.push(rich.marks[i]!);
  }
  return { text, marks };
}

/** Waits (a few seconds at most) until the TinyMCE editor of `root` exists and has loaded its content. */
export async function tinymceReady(root: HTMLElement): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (findEditor(root)?.initialized) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const tinymce: AdapterFactory = (root, events) => {
  const editor = findEditor(root);
  if (!editor) return 'TinyMCE was found, but not its editor (the page has no tinymce global)';
  if (!editor.initialized) return 'this TinyMCE editor has not finished loading';
  const body = editor.getBody();
  const read = (): RichText => clean(readLayout(body, false).rich);

  const onChange = (): void => events.changed();
  const onUndo = (event: { command?: string; preventDefault(): void }): void => {
    const command = event.command?.toLowerCase();
    if (command !== 'undo' && command !== 'redo') return;
    event.preventDefault(); // TinyMCE's undo restores whole snapshots: collaborators' text with them
    events.undo(command === 'redo');
  };
  const changeEvents = 'input change SetContent Undo Redo ExecCommand paste cut keyup';
  editor.on(changeEvents, onChange);
  // Selection moves and formatting from the toolbar (the iframe's own events never reach the page around it).
  const onNodeChange = (): void => {
    events.changed();
    events.selected();
  };
  editor.on('NodeChange', onNodeChange);
  editor.on('BeforeExecCommand', onUndo, true);
  // Composition happens inside the iframe, out of the content script's sight.
  const onCompositionStart = (): void => events.composing(true);
  const onCompositionEnd = (): void => events.composing(false);
  body.addEventListener('compositionstart', onCompositionStart, true);
  body.addEventListener('compositionend', onCompositionEnd, true);

  const rangeIn = (from: number, to: number): Range | null => {
    const layout = readLayout(body, false);
    const raw = layout.rich.text;
    return rangeAt(layout, toRaw(raw, from), toRaw(raw, to), editor.getDoc());
  };

  return {
    rich: true,
    styles: new Set(['bold', 'italic', 'underline', 'strike', 'code', 'link']),
    read,
    apply(delta) {
      const raw = readLayout(body, false).rich.text;
      const change = raw.includes(ZWNBSP) ? rawDelta(delta, raw) : delta;
      editor.undoManager.ignore(() => applyToElement(body, change, false));
      editor.setDirty(true);
      editor.nodeChanged();
    },
    selection(): TextSelection | null {
      const selection = editor.getWin().getSelection();
      if (!selection || selection.rangeCount === 0 || !selection.anchorNode || !selection.focusNode) return null;
      if (!body.contains(selection.anchorNode) || !body.contains(selection.focusNode)) return null;
      const layout = readLayout(body, false, [
        { node: selection.anchorNode, offset: selection.anchorOffset },
        { node: selection.focusNode, offset: selection.focusOffset },
      ]);
      const [anchor, head] = layout.offsets;
      if (anchor === null || anchor === undefined || head === null || head === undefined) return null;
      return { anchor: toClean(layout.rich.text, anchor), head: toClean(layout.rich.text, head) };
    },
    select({ anchor, head }) {
      const layout = readLayout(body, false);
      const a = pointAt(layout, toRaw(layout.rich.text, anchor));
      const h = pointAt(layout, toRaw(layout.rich.text, head));
      editor.getWin().getSelection()?.setBaseAndExtent(a.node, a.offset, h.node, h.offset);
    },
    rects(from, to): Rect[] {
      const range = rangeIn(from, to);
      if (!range) return [];
      // The body's rects are in the iframe's viewport: moved by where the iframe's content box is in ours.
      const frame = editor.inline ? null : editor.iframeElement;
      const box = frame?.getBoundingClientRect();
      const dx = box ? box.left + (frame?.clientLeft ?? 0) : 0;
      const dy = box ? box.top + (frame?.clientTop ?? 0) : 0;
      return rangeRects(range).map((r) => ({ ...r, left: r.left + dx, top: r.top + dy }));
    },
    focused: () => editor.hasFocus(),
    destroy() {
      editor.off(changeEvents, onChange);
      editor.off('NodeChange', onNodeChange);
      editor.off('BeforeExecCommand', onUndo);
      body.removeEventListener('compositionstart', onCompositionStart, true);
      body.removeEventListener('compositionend', onCompositionEnd, true);
    },
  };
};

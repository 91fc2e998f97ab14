/**
 * Trix (Basecamp's editor, Rails' Action Text) as sites embed it: `<trix-editor>` elements with
 * their toolbar (Ctrl+B and the other keys it binds) and hidden inputs, from the npm package.
 * The tests read the editor's document (`element.editor.getDocument()`), its selected range, where
 * its selection manager draws a position, and whether its view is in sync with the document.
 */
import 'trix';
import { type EditorTestApi, expose } from './expose';

interface Piece {
  attachment?: unknown;
  toString(): string;
  getAttributes(): Record<string, unknown>;
  hasAttribute(name: string): boolean;
}
interface TrixDocument {
  getBlocks(): { text: { getPieces(): Piece[] } }[];
  locationRangeFromRange(range: [number, number]): unknown;
}
interface TrixEditor {
  getDocument(): TrixDocument;
  getSelectedRange(): [number, number];
  setSelectedRange(range: [number, number]): void;
  selectionManager: { createDOMRangeFromLocationRange(locationRange: unknown): Range | null };
}
type TrixElement = HTMLElement & { editor: TrixEditor; editorController: { compositionController: { documentView: { isSynced(): boolean } } } };

const MARKS: Record<string, string> = { bold: 'bold', italic: 'italic', strike: 'strike', href: 'link' };

const elements = new Map<string, TrixElement>();
for (const id of ['plain', 'shared']) {
  const input = document.createElement('input');
  input.type = 'hidden';
  input.id = `${id}-input`;
  input.value = '<div>Start here.<br>Second line.</div>';
  const element = document.createElement('trix-editor') as TrixElement;
  element.setAttribute('input', input.id);
  document.getElementById(id)!.append(input, element);
  elements.set(id, element);
}

/** The pieces of the document in order, as Tandem's text sees them: `\n` between blocks, attachments left out. */
function pieces(editor: TrixEditor): { text: string; attributes: Record<string, unknown>; attachment: boolean }[] {
  const out: { text: string; attributes: Record<string, unknown>; attachment: boolean }[] = [];
  const blocks = editor.getDocument().getBlocks();
  blocks.forEach((block, i) => {
    for (const piece of block.text.getPieces()) {
      if (piece.hasAttribute('blockBreak')) {
        if (i < blocks.length - 1) out.push({ text: '\n', attributes: {}, attachment: false });
      } else out.push({ text: piece.toString(), attributes: piece.getAttributes(), attachment: Boolean(piece.attachment) });
    }
  });
  return out;
}

/** Trix's position for a text offset (attachments count one there). */
function positionOf(editor: TrixEditor, offset: number): number {
  let text = 0;
  let position = 0;
  for (const p of pieces(editor)) {
    if (p.attachment) {
      if (text < offset) position++;
      continue;
    }
    if (text + p.text.length >= offset) return position + (offset - text);
    text += p.text.length;
    position += p.text.length;
  }
  return position;
}

function offsetOf(editor: TrixEditor, position: number): number {
  let text = 0;
  let at = 0;
  for (const p of pieces(editor)) {
    const length = p.attachment ? 1 : p.text.length;
    if (at + length > position) return text + (p.attachment ? 0 : position - at);
    at += length;
    if (!p.attachment) text += length;
  }
  return text;
}

const editor = (id: string): TrixEditor => elements.get(id)!.editor;

const api: EditorTestApi = {
  root: (id) => elements.get(id)!,
  text: (id) =>
    pieces(editor(id))
      .filter((p) => !p.attachment)
      .map((p) => p.text)
      .join(''),
  rich: (id) => {
    const out: { insert: string; attributes?: Record<string, unknown> }[] = [];
    for (const p of pieces(editor(id))) {
      if (p.attachment) continue;
      const attributes: Record<string, unknown> = {};
      for (const [name, mark] of Object.entries(MARKS)) if (p.attributes[name]) attributes[mark] = p.attributes[name];
      const last = out[out.length - 1];
      if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes)) last.insert += p.text;
      else out.push(Object.keys(attributes).length > 0 ? { insert: p.text, attributes } : { insert: p.text });
    }
    return out;
  },
  selection: (id) => {
    const e = editor(id);
    const [start, end] = e.getSelectedRange();
    return { anchor: offsetOf(e, start), head: offsetOf(e, end) };
  },
  select: (id, anchor, head) => {
    elements.get(id)!.focus();
    const e = editor(id);
    e.setSelectedRange([positionOf(e, Math.min(anchor, head)), positionOf(e, Math.max(anchor, head))]);
  },
  caret: (id, offset) => {
    const e = editor(id);
    const position = positionOf(e, offset);
    const range = e.selectionManager.createDOMRangeFromLocationRange(e.getDocument().locationRangeFromRange([position, position]));
    const r = range?.getClientRects()[0] ?? range?.getBoundingClientRect();
    return r ? { left: r.left, top: r.top, height: r.height } : null;
  },
  // Trix's own check: its view shows its document.
  healthy: (id) => elements.get(id)!.editorController.compositionController.documentView.isSynced(),
};

let initialized = 0;
for (const element of elements.values())
  element.addEventListener('trix-initialize', () => {
    if (++initialized === elements.size) expose(api);
  });

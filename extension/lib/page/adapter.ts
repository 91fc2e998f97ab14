/**
 * What an editor adapter is: the few things Tandem needs from an editor, done through the
 * editor's own model and API (never by writing its DOM). One adapter per editor family lives in
 * ./adapters; this file holds the interface and what rich adapters share.
 *
 * Text model: the document is one text with `\n` between lines. A code editor's text is that
 * text. A rich editor's blocks (paragraphs, headings, list items…) are its lines, a hard break
 * inside a block is a `\n` too, and inline atoms (images, mentions) are not part of the text.
 * Formatting is the marks Tandem knows (shared/document.ts), on characters other than `\n`.
 */
import type { Attributes, TextDelta } from '../../../shared/text/delta';
import type { RichText } from '../../../shared/text/rich';
import type { Rect, TextSelection } from '../page-protocol';

/** What an adapter tells the host about the editor. */
export interface AdapterEvents {
  /** The editor's content changed (not by `apply`): `delta` when the editor said exactly what changed (plain adapters), else the host reads and compares. */
  changed(delta?: TextDelta): void;
  /** The selection moved without a change of content. */
  selected(): void;
  /** The editor's own undo/redo was asked for (toolbar, menu, command): Tandem's undo runs instead. */
  undo(redo: boolean): void;
  /** An input method composes (or stopped) where the content script cannot see it (inside an iframe). */
  composing(active: boolean): void;
  /**
   * The editor's view scrolled or was laid out again without a DOM scroll event (Monaco scrolls
   * its own viewport): collaborators' carets drawn over it are placed again. Editors that scroll
   * a real element need not call it; the content script hears their scroll events.
   */
  moved(): void;
  /** The editor no longer shows the bound text (another document put in it, or it was destroyed): the binding stops, nothing is written. */
  detached(reason: string): void;
}

export interface EditorAdapter {
  /** True when the editor shows formatting (marks), false for code editors (text only). */
  readonly rich: boolean;
  /** The marks this editor can show (rich adapters); others stay in the document untouched. */
  readonly styles: ReadonlySet<string>;
  /** The whole content: a string for plain adapters, text and marks for rich ones. */
  read(): string | RichText;
  /** Makes a change through the editor's model, kept out of the editor's own undo history. */
  apply(delta: TextDelta): void;
  selection(): TextSelection | null;
  select(selection: TextSelection): void;
  /** Where [from, to) is on screen; a caret when from === to. Empty when it is not rendered (scrolled out of a virtual viewport). */
  rects(from: number, to: number): Rect[];
  /** Makes the editor report a change it has made but not yet reported (editors that commit asynchronously). */
  flush?(): void;
  /** True when the editor has the keyboard focus (the selection is the person's). */
  focused(): boolean;
  /** Stops listening; puts back whatever the adapter changed on the instance. */
  destroy(): void;
}

/** Finds an editor's instance from its root element; a string says why it cannot be bound. */
export type AdapterFactory = (root: HTMLElement, events: AdapterEvents) => EditorAdapter | string;

/** The adapter `factory` makes on `root`, or why it cannot be bound (the factory's reason; a read-only editor). */
export function adapterOn(factory: AdapterFactory, root: HTMLElement, events: AdapterEvents): EditorAdapter | string {
  const adapter = factory(root, events);
  if (typeof adapter === 'string') return adapter;
  if (shownReadOnly(root)) {
    adapter.destroy();
    return 'the page shows it read-only';
  }
  return adapter;
}

/**
 * The primitive edits a rich adapter makes in its model, in the document's text offsets as the
 * content is at the moment of the call (each call sees the effect of the ones before).
 */
export interface RichEdits {
  /** Removes [from, to): text, hard breaks, and the line breaks between blocks (which joins them). */
  remove(from: number, to: number): void;
  /** Inserts text without `\n` at `at`, with exactly these marks. */
  insert(at: number, text: string, marks: Attributes): void;
  /** Splits the line at `at` (a new block of the same kind after it). */
  split(at: number): void;
  /** Sets (a value) or removes (`null`) marks on [from, to), which holds no `\n`. */
  format(from: number, to: number, marks: Attributes): void;
}

/**
 * Applies a delta as primitive edits, left to right. Formatting is never asked for on `\n`
 * (lines carry none in Tandem's model); an insert's text is split at its newlines.
 */
export function applyAsEdits(delta: TextDelta, text: string, edits: RichEdits): void {
  let at = 0; // in the content as edited so far
  let old = 0; // in `text`, the content before the delta
  for (const op of delta) {
    if ('retain' in op) {
      if (op.attributes) {
        let start = 0;
        for (let i = 0; i <= op.retain; i++) {
          if (i === op.retain || text.charCodeAt(old + i) === 10) {
            if (i > start) edits.format(at + start, at + i, op.attributes);
            start = i + 1;
          }
        }
      }
      at += op.retain;
      old += op.retain;
    } else if ('delete' in op) {
      edits.remove(at, at + op.delete);
      old += op.delete;
    } else {
      const lines = op.insert.split('\n');
      lines.forEach((line, i) => {
        if (i > 0) {
          edits.split(at);
          at += 1;
        }
        if (line.length > 0) {
          edits.insert(at, line, cleanMarks(op.attributes));
          at += line.length;
        }
      });
    }
  }
}

/** The marks an insert gets: its attributes without the `null`s (an insert has exactly the marks it lists). */
function cleanMarks(attributes: Attributes | undefined): Attributes {
  if (!attributes) return {};
  const out: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== null && v !== false) out[k] = v;
  return out;
}

/** Builds a RichText line by line, for adapters that walk their model. */
export class RichTextBuilder {
  private text = '';
  private readonly marks: Attributes[] = [];
  private lines = 0;
  private static readonly NONE: Attributes = Object.freeze({});

  constructor(private readonly styles: ReadonlySet<string>) {}

  /** Starts a line (every block but the first begins with the `\n` that separates it from the one before). */
  line(): void {
    if (this.lines++ > 0) this.add('\n', RichTextBuilder.NONE);
  }

  /** Text with its marks (only the marks this editor can show are kept). */
  add(text: string, marks: Attributes): void {
    if (text.length === 0) return;
    const kept = this.keep(marks);
    this.text += text;
    for (let i = 0; i < text.length; i++) this.marks.push(text.charCodeAt(i) === 10 ? RichTextBuilder.NONE : kept);
  }

  private lastIn: Attributes | null = null;
  private lastOut: Attributes = RichTextBuilder.NONE;

  private keep(marks: Attributes): Attributes {
    if (marks === this.lastIn) return this.lastOut;
    const out: Record<string, string | boolean> = {};
    let any = false;
    for (const [k, v] of Object.entries(marks)) {
      if (v === null || v === false || !this.styles.has(k)) continue;
      out[k] = v;
      any = true;
    }
    this.lastIn = marks;
    this.lastOut = any ? out : RichTextBuilder.NONE;
    return this.lastOut;
  }

  done(): RichText {
    return { text: this.text, marks: this.marks };
  }
}

/** True when `el` or an element inside it has the keyboard focus (the selection is the person's). */
export const holdsFocus = (el: Element): boolean => el.contains(el.ownerDocument.activeElement);

/** The rects between two DOM points (a caret when they are one); none when either is missing or they are out of order. */
export function pointRects(start: [Node, number] | null, end: [Node, number] | null): Rect[] {
  if (!start || !end) return [];
  const range = document.createRange();
  try {
    range.setStart(...start);
    range.setEnd(...end);
  } catch {
    return [];
  }
  return rangeRects(range);
}

/** A DOM range's client rectangles as plain rects (a collapsed range: its caret box). */
export function rangeRects(range: Range): Rect[] {
  const out: Rect[] = [];
  const rects = range.getClientRects();
  for (let i = 0; i < rects.length; i++) {
    const r = rects[i]!;
    out.push({ left: r.left, top: r.top, width: r.width, height: r.height });
  }
  if (out.length === 0 && range.collapsed) {
    // An empty line has no text box: the caret sits at its block's start.
    const node = range.startContainer;
    const el = node.nodeType === Node.ELEMENT_NODE ? (node as Element) : node.parentElement;
    const r = el?.getBoundingClientRect();
    if (r) out.push({ left: r.left, top: r.top, width: 0, height: r.height || 16 });
  }
  return out;
}

/**
 * True when the page shows this editor read-only (a view mode, a locked form): its editing
 * element is not editable, or says it is read-only. Every editor's API writes regardless, so a
 * read-only editor is refused rather than filled with what the person cannot edit or save. The
 * editing element is the root itself for the contenteditable editors; inside it for Quill's
 * container and the code editors (CodeMirror 6's content element, the hidden textarea of
 * CodeMirror 5 and Ace, which they make read-only with the editor).
 */
function shownReadOnly(root: HTMLElement): boolean {
  // Named, not any textarea: Monaco keeps a read-only one beside its input (it has its own check).
  const typing = root.hasAttribute('contenteditable') ? root : root.querySelector<HTMLElement>('.cm-content, .ql-editor, .CodeMirror textarea, textarea.ace_text-input');
  if (!typing) return false;
  if (typing instanceof HTMLTextAreaElement) return typing.readOnly || typing.disabled;
  return !typing.isContentEditable || typing.getAttribute('aria-readonly') === 'true';
}

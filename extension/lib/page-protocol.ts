/**
 * What the content script (isolated world) and the page adapters (the page's main world, where
 * editors' objects live) say to each other about one editor. Both sides share the DOM only, so
 * messages are DOM CustomEvents dispatched on the editor's root element, with JSON strings as
 * `detail` (the one payload both browsers pass between worlds unchanged). `dispatchEvent` runs
 * listeners synchronously, so a call is answered before it returns: the content script sees the
 * editor exactly as it is at that moment, which is what keeps its text channel exact.
 *
 * Trust: the page can see and forge these events. That gives it nothing it does not have
 * already: it owns its editor and can type into it. The content script accepts from here only
 * changes to the one bound field, checked like typing (shape, bounds).
 */
import type { TextDelta } from '../../shared/text/delta';

/** Content script → page: a call on the editor whose root the event is dispatched on. */
export const CALL_EVENT = 'tandem:page-call';
/** Page → content script: the answer to a call, dispatched synchronously inside it. */
export const REPLY_EVENT = 'tandem:page-reply';
/** Page → content script: something happened in the editor (dispatched on its root). */
export const NOTICE_EVENT = 'tandem:page-notice';

/** The editors Tandem knows, by the DOM they render (extension/lib/content/editors.ts finds them). */
export type EditorKind = 'codemirror6' | 'codemirror5' | 'monaco' | 'ace' | 'prosemirror' | 'lexical' | 'quill' | 'slate' | 'ckeditor5' | 'tinymce' | 'draft' | 'trix';

export const EDITOR_NAMES: Record<EditorKind, string> = {
  codemirror6: 'CodeMirror',
  codemirror5: 'CodeMirror 5',
  monaco: 'Monaco',
  ace: 'Ace',
  prosemirror: 'ProseMirror',
  lexical: 'Lexical',
  quill: 'Quill',
  slate: 'Slate',
  ckeditor5: 'CKEditor',
  tinymce: 'TinyMCE',
  draft: 'Draft.js',
  trix: 'Trix',
};

/** A selection in the document's text offsets (UTF-16 units); `head` is where the caret is. */
export interface TextSelection {
  anchor: number;
  head: number;
}

/** A rectangle in the viewport (CSS pixels), for drawing collaborators' carets and selections. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type PageCall =
  /** Look for the editor's instance where that takes a moment; answered at once, then a `prepared` notice. */
  | { op: 'prepare'; kind: EditorKind }
  /** Find the editor's instance and start listening. Answer: `attached` or `refused`. */
  | { op: 'attach'; kind: EditorKind }
  /** Report any change the editor made that has not been reported yet (answered after the notices). */
  | { op: 'flush' }
  /** The editor's content: its text, and with `rich`, the formatting as a delta of inserts. */
  | { op: 'read' }
  /** A change from the document, made through the editor's own model, kept out of its undo history. */
  | { op: 'apply'; delta: TextDelta }
  | { op: 'selection' }
  | { op: 'select'; selection: TextSelection }
  /** Where these ranges are on screen (an empty range: a caret). */
  | { op: 'rects'; ranges: [number, number][] }
  | { op: 'detach' };

export type PageReply =
  | { ok: true; attached: { rich: boolean; styles: string[] } }
  | { ok: true; read: { text: string; content?: TextDelta } }
  | { ok: true; selection: TextSelection | null }
  | { ok: true; rects: Rect[][] }
  | { ok: true }
  /** Could not do it; `reason` is for the person ("this editor is not supported yet: …"). */
  | { ok: false; reason: string };

export type PageNotice =
  /** `prepare` is done: `attach` now finds what there is to find. */
  | { t: 'prepared' }
  /** The person changed the editor: `delta` on the content last reported. */
  | { t: 'change'; delta: TextDelta }
  | { t: 'selection'; selection: TextSelection }
  /** An input method started or ended composing in the editor (where its events do not reach the root: an iframe's body). */
  | { t: 'composing'; active: boolean }
  /** The editor's view scrolled or moved where no DOM scroll event says so: what is drawn over it is placed again. */
  | { t: 'moved' }
  /** The editor's own undo or redo was asked for (its toolbar, its menu, its shortcut). */
  | { t: 'undo'; redo: boolean }
  /** The editor no longer holds what Tandem wrote into it: stop (the editor's text is left as it is). */
  | { t: 'broken'; reason: string };

/**
 * Framework editors, recognised by the DOM they render. These editors keep their own model and
 * treat the DOM as its rendering, so Tandem must never write their DOM: a focused element inside
 * one is not a field of its own (Monaco's and Ace's hidden textareas, CodeMirror's content
 * element); the editor as a whole is, bound through its adapter in the page's world
 * (../page/adapters), or refused with a reason when there is none.
 */
import { EDITOR_NAMES, type EditorKind } from '../page-protocol';

/** The root element each editor family renders, nearest first when they nest. */
const ROOTS: readonly [EditorKind, string][] = [
  ['codemirror6', '.cm-editor'],
  ['codemirror5', '.CodeMirror'],
  ['monaco', '.monaco-editor'],
  ['ace', '.ace_editor'],
  ['lexical', '[data-lexical-editor]'],
  ['slate', '[data-slate-editor]'],
  ['quill', '.ql-container'],
  // Nested editables (an image's caption) belong to the editor around them.
  ['ckeditor5', '.ck-editor__editable:not(.ck-editor__nested-editable)'],
  ['prosemirror', '.ProseMirror'],
  ['draft', '.DraftEditor-root'],
  ['trix', 'trix-editor'],
  // TinyMCE: its iframe, seen from the page around it (which binds it: the `tinymce` global and
  // Tandem's UI live there), or its inline editing element; inside the iframe, its body.
  ['tinymce', 'iframe.tox-edit-area__iframe'],
  ['tinymce', '.mce-content-body'],
];

/** Any editor root: a locator may name one (it is a field even though it is not a text control). */
export const EDITOR_ROOT_SELECTOR = ROOTS.map(([, s]) => s).join(', ');

/** The selector of the editor root `el` is, if it is one (locators name editors by it). */
export function editorRootSelector(el: Element): string | null {
  for (const [, selector] of ROOTS) if (el.matches(selector)) return selector;
  return null;
}

/** Editors with an adapter. Others are recognised in order to be refused cleanly. */
const ADAPTED: ReadonlySet<EditorKind> = new Set<EditorKind>(['codemirror6', 'codemirror5', 'monaco', 'ace', 'prosemirror', 'quill', 'tinymce', 'ckeditor5', 'lexical', 'slate', 'trix']);

export interface EditorMatch {
  kind: EditorKind;
  /** The element Tandem treats as the field: controls and badges go next to it. */
  root: HTMLElement;
  /** Set when Tandem has no adapter for it: why, for the person. */
  refusal: string | null;
}

/**
 * True for an editor's content document seen from inside its frame (TinyMCE's iframe body): the
 * page around the frame binds that editor, so nothing is offered here.
 */
export const boundFromOutside = (match: EditorMatch): boolean => match.root === match.root.ownerDocument.body && window !== window.parent;

/** The framework editor `el` belongs to, if any (the innermost, when editors nest). */
export function editorAt(el: Element | null): EditorMatch | null {
  if (!el) return null;
  let best: EditorMatch | null = null;
  for (const [kind, selector] of ROOTS) {
    const root = el.closest(selector);
    if (!(root instanceof HTMLElement)) continue;
    if (best && !best.root.contains(root)) continue; // keep the innermost
    best = { kind, root, refusal: ADAPTED.has(kind) ? null : `${EDITOR_NAMES[kind]} editors are not supported yet` };
  }
  return best;
}

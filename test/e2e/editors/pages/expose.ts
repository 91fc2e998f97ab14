/**
 * What every editor test page gives the tests, read through the editor's own API (never its
 * DOM): `window.editorTest`. Offsets are in Tandem's text model (lines joined by `\n`).
 */
export interface EditorTestApi {
  /** The editor's root element (where Tandem's control and badge go). */
  root(id: string): HTMLElement;
  /** The text as the editor's model holds it. */
  text(id: string): string;
  /** The formatting, where the editor has any: a delta of inserts with Tandem's mark names. */
  rich?(id: string): { insert: string; attributes?: Record<string, unknown> }[];
  selection(id: string): { anchor: number; head: number } | null;
  /** Focuses the editor and puts its selection there. */
  select(id: string, anchor: number, head: number): void;
  /** Where the editor draws a caret at this offset (viewport coordinates). */
  caret(id: string, offset: number): { left: number; top: number; height: number } | null;
  /** The editor still works: its model and its rendering agree. */
  healthy(id: string): boolean;
  /** Scrolls the editor's own viewport by `px` (editors that scroll without a DOM scroll event: Monaco). */
  scrollBy?(id: string, px: number): void;
  /** Runs the editor's own undo command, as its menu or a toolbar button would (code editors). */
  undoCommand?(id: string): void;
  /** Shows another document (another file) in the editor, as tabbed editors do (code editors). */
  swap?(id: string, text: string): void;
}

declare global {
  interface Window {
    editorTest: EditorTestApi;
  }
}

export function expose(api: EditorTestApi): void {
  window.editorTest = api;
  document.documentElement.dataset.editorReady = 'true';
}

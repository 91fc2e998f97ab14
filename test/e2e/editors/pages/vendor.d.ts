/** The few parts of CodeMirror 5's API the test page uses (the package ships no types). */
declare module 'codemirror5' {
  namespace CodeMirror {
    interface Position {
      line: number;
      ch: number;
    }
    interface Editor {
      getValue(separator?: string): string;
      getWrapperElement(): HTMLElement;
      getCursor(which: 'anchor' | 'head'): Position;
      indexFromPos(pos: Position): number;
      lineSeparator(): string;
      lineCount(): number;
      focus(): void;
      setSelection(anchor: Position, head: Position): void;
      cursorCoords(pos: Position, mode: 'window'): { left: number; top: number; bottom: number };
      execCommand(name: string): void;
      swapDoc(doc: object): object;
      setSize(width: number | null, height: number | null): void;
    }
  }
  interface CodeMirrorStatic {
    (parent: HTMLElement, options: Record<string, unknown>): CodeMirror.Editor;
    Pos(line: number, ch: number): CodeMirror.Position;
    Doc: new (text: string, mode?: string) => object;
  }
  const CodeMirror: CodeMirrorStatic;
  export default CodeMirror;
}

/** Trix's default export, as far as the tests use it (the package ships no types). */
declare module 'trix' {
  const Trix: { Attachment: new (attributes: { content: string }) => object };
  export default Trix;
}

/**
 * Offsets in Tandem's text model (lines joined by `\n`) to and from (line, column), for the pages
 * of line-based editors. Computed from the text the page reads from its editor, on purpose
 * independently of the adapters' own conversions.
 */
export function lfPosition(text: string, offset: number): { line: number; ch: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, ch: before[before.length - 1]!.length };
}

export function lfOffset(text: string, line: number, ch: number): number {
  const lines = text.split('\n');
  let at = 0;
  for (let i = 0; i < line; i++) at += lines[i]!.length + 1;
  return at + ch;
}

/** The rendered lines (in order) are a run of the model's lines: what the editor draws is its text. */
export function rendersModel(rendered: string[], text: string): boolean {
  return rendered.length > 0 && `\n${text}\n`.includes(`\n${rendered.join('\n')}\n`);
}

/** Lines drawn as absolutely placed elements (Monaco, Ace): their text, top to bottom. */
export function drawnLines(elements: Iterable<Element>): string[] {
  return [...elements]
    .map((el) => ({ top: (el as HTMLElement).getBoundingClientRect().top, text: (el.textContent ?? '').replace(/\u00a0/g, ' ') }))
    .sort((a, b) => a.top - b.top)
    .map((l) => l.text);
}

/**
 * Timestamps along one keystroke's way to the other person's field, for the benchmark
 * (`npm run bench -- --only extension`, "where the time goes"). Each hop is a performance mark
 * named `tandem:hop:<name>` whose `detail` says which keystroke it carried (the text's length
 * after it, or -1 where that is not known and the benchmark matches by time). Off unless the
 * benchmark asks: a page marked `<html data-tandem-measure>`, or a worker whose
 * `__tandemMeasure` is true; then one attribute or property read per hop.
 */
export function measuring(): boolean {
  if ((globalThis as { __tandemMeasure?: boolean }).__tandemMeasure === true) return true;
  return typeof document !== 'undefined' && document.documentElement?.hasAttribute('data-tandem-measure') === true;
}

/** Marks that the keystroke `key` passed `name` at `at` (default: now). */
export function hop(name: string, key = -1, at?: number): void {
  if (!measuring()) return;
  performance.mark(`tandem:hop:${name}`, { startTime: at ?? performance.now(), detail: key });
}

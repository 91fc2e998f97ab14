/**
 * Undo and redo in bound fields go to the document's undo manager (in the background), which
 * undoes only this person's changes. The browser's own undo must never run in a bound field:
 * its history holds collaborators' edits too (we wrote them into the field), and replaying it
 * would undo theirs.
 */
import type { TextDelta } from '../../../shared/text/delta';

/** Undo or redo asked for by a key press: Ctrl/Cmd+Z, Shift+Ctrl/Cmd+Z, Ctrl+Y. */
export function historyKey(event: KeyboardEvent): 'undo' | 'redo' | null {
  if (event.altKey || !(event.ctrlKey || event.metaKey)) return null;
  const key = event.key.toLowerCase();
  // `code` too: on layouts without a Latin Z (Cyrillic, Greek) the key still says undo.
  if (key === 'z' || event.code === 'KeyZ') return event.shiftKey ? 'redo' : 'undo';
  if ((key === 'y' || event.code === 'KeyY') && event.ctrlKey && !event.shiftKey) return 'redo';
  return null;
}

/**
 * Takes over undo in `el`: key presses, and `beforeinput` historyUndo/historyRedo (menus,
 * shake-to-undo, the keyboard where keydown is not seen). Returns the listener removers.
 * `capture`: for an editor with its own handlers inside `el`, on `el` or on an ancestor (React
 * listens at its root container): the key is caught on the window on its way down and goes no
 * further, so the editor never runs its own undo.
 */
export function interceptHistory(el: HTMLElement, run: (redo: boolean) => void, capture = false): (() => void)[] {
  const target: EventTarget = capture ? (el.ownerDocument.defaultView ?? window) : el;
  const mine = (event: Event): boolean => !capture || event.composedPath().includes(el);
  const stop = (event: Event): void => {
    event.preventDefault();
    if (capture) event.stopImmediatePropagation();
  };
  const onKey = (event: Event): void => {
    const command = historyKey(event as KeyboardEvent);
    if (!command || (event as KeyboardEvent).isComposing || !mine(event)) return;
    stop(event);
    run(command === 'redo');
  };
  const onBeforeInput = (event: Event): void => {
    const type = (event as InputEvent).inputType;
    if ((type !== 'historyUndo' && type !== 'historyRedo') || !mine(event)) return;
    stop(event);
    run(type === 'historyRedo');
  };
  target.addEventListener('keydown', onKey, capture);
  target.addEventListener('beforeinput', onBeforeInput, capture);
  return [() => target.removeEventListener('keydown', onKey, capture), () => target.removeEventListener('beforeinput', onBeforeInput, capture)];
}

/** Where an undo or redo changed the text: after its last insert, or where its last deletion was. */
export function changedAt(delta: TextDelta): number | null {
  let at = 0;
  let where: number | null = null;
  for (const op of delta) {
    if ('retain' in op) {
      at += op.retain;
      if (op.attributes) where = at;
    } else if ('insert' in op) {
      at += op.insert.length;
      where = at;
    } else where = at;
  }
  return where;
}

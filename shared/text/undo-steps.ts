/**
 * Undo by steps a person recognises: one press takes back one burst of their own typing,
 * however many collaborators' changes arrived in the middle of it.
 *
 * Loro's UndoManager undoes local changes only (rebased over everything after them), but it
 * cuts its items wherever a remote change was imported: while someone else types, a burst of
 * mine becomes one item per keystroke, and one press took back a character or two (issue 17).
 * So the steps are ours: the manager keeps one item per commit (merge interval 0: its own
 * merging cannot be counted, it announces a push for commits it then merges), each step counts
 * the items it holds, and a press undoes (or redoes) that many. A step ends when
 * - the person pauses (`pauseMs` since their last edit),
 * - the kind of edit changes (typing, deleting, formatting: `undoStepBoundary`),
 * - the edit is not where the last one left the caret (they moved it, or typed elsewhere),
 * - the edit comes from another field, or after an undo or redo.
 */
import { isLow, type TextDelta } from './delta';
import { OPENING_ORIGIN, completesPair, undoStepBoundary } from './loro-edit';

/** What this needs of Loro's UndoManager (structural: the extension and the page use different Loro builds). */
export interface UndoStack {
  undo(): boolean;
  redo(): boolean;
  setMergeInterval(interval: number): void;
  setOnPush(listener: (isUndo: boolean) => { value: null; cursors: [] }): void;
}

/** What this needs of the document and its text: commits, and positions that follow concurrent edits. */
export interface StepDocument<Cursor> {
  commit(options?: { origin?: string }): void;
  getCursorPos(cursor: Cursor): { offset: number } | undefined;
}
export interface StepText<Cursor> {
  getCursor(pos: number): Cursor | undefined;
}

export interface UndoStepsOptions {
  /** A pause this long ends a step. */
  pauseMs: number;
  /** Steps kept; older ones are forgotten (the manager's own limit counts commits: set it well above). */
  maxSteps: number;
  now?: () => number;
}

/** Where an edit starts, and how far into the old text it reaches and the new one it leaves the caret. */
function extent(delta: TextDelta): { start: number; oldEnd: number; caret: number } | null {
  let old = 0;
  let now = 0;
  let start: number | null = null;
  let oldEnd = 0;
  let caret = 0;
  for (const op of delta) {
    if ('retain' in op && !op.attributes) {
      old += op.retain;
      now += op.retain;
      continue;
    }
    start ??= old;
    if ('retain' in op) {
      old += op.retain;
      now += op.retain;
    } else if ('delete' in op) old += op.delete;
    else now += op.insert.length;
    oldEnd = old;
    caret = now;
  }
  return start === null ? null : { start, oldEnd, caret };
}

/** True when the edit ends by typing a character made of a surrogate pair (an emoji): the caret follows its second half. */
function endsWithPair(delta: TextDelta): boolean {
  const last = delta.at(-1);
  return last !== undefined && 'insert' in last && isLow(last.insert.charCodeAt(last.insert.length - 1));
}

export class UndoSteps<Cursor> {
  /** Items of the manager per step, oldest first. */
  private readonly undoable: number[] = [];
  private readonly redoable: number[] = [];
  private pushed = 0;
  private last: { delta: TextDelta; source: unknown; at: number; caret: { cursor: Cursor; after: number } | undefined } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly manager: UndoStack,
    private readonly doc: StepDocument<Cursor>,
    private readonly text: StepText<Cursor>,
    private readonly options: UndoStepsOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    manager.setMergeInterval(0);
    manager.setOnPush(() => {
      this.pushed++;
      return { value: null, cursors: [] };
    });
  }

  /**
   * Commits one local edit (already applied to the text by `apply`) as part of the step in
   * progress or as the first of a new one. `source` tells fields apart; an `opening` edit (a
   * field's own text when it was bound) is never undone.
   */
  commit(delta: TextDelta, apply: () => void, source: unknown = null, opening = false): void {
    if (opening) {
      apply();
      this.doc.commit({ origin: OPENING_ORIGIN });
      this.last = null;
      return;
    }
    const at = this.now();
    const span = extent(delta);
    const completing = this.last !== null && completesPair(this.last.delta, delta);
    const fresh = this.startsStep(delta, span, source, at, completing);
    this.pushed = 0;
    apply();
    this.doc.commit();
    // The second half of a character is typing, as the first half was: what follows merges as after it.
    this.last = { delta: completing && !fresh ? this.last!.delta : delta, source, at, caret: span ? this.caretAt(span.caret, endsWithPair(delta)) : undefined };
    if (this.pushed === 0) return;
    this.redoable.length = 0;
    if (fresh || this.undoable.length === 0) {
      this.undoable.push(this.pushed);
      if (this.undoable.length > this.options.maxSteps) this.undoable.shift();
    } else this.undoable[this.undoable.length - 1]! += this.pushed;
  }

  private startsStep(delta: TextDelta, span: ReturnType<typeof extent>, source: unknown, at: number, completing: boolean): boolean {
    const last = this.last;
    if (last === null || last.source !== source || at - last.at >= this.options.pauseMs) return true;
    if (undoStepBoundary(last.delta, delta) && !completing) return true;
    if (!span || last.caret === undefined) return true;
    // Typing goes on where the last edit left the caret; Backspace ends there; Delete starts there.
    const held = this.doc.getCursorPos(last.caret.cursor);
    if (!held) return true;
    const caret = held.offset + last.caret.after;
    return caret < span.start || caret > span.oldEnd;
  }

  /**
   * The caret after an edit, as a position that follows concurrent edits: held by the character
   * before it (the one just typed), so a collaborator's text arriving right at the caret does not
   * move it (a bound field keeps its caret before such text too).
   */
  private caretAt(offset: number, pairBefore: boolean): { cursor: Cursor; after: number } | undefined {
    // Held by the whole character: a position inside a surrogate pair is not one Loro keeps.
    const back = pairBefore && offset >= 2 ? 2 : 1;
    const cursor = this.text.getCursor(Math.max(0, offset - back));
    return cursor === undefined ? undefined : { cursor, after: offset > 0 ? back : 0 };
  }

  /** Takes back this person's last step; false when there is none. */
  undo(): boolean {
    return this.move(this.undoable, this.redoable, () => this.manager.undo());
  }

  /** Puts back the step last taken back; false when there is none. */
  redo(): boolean {
    return this.move(this.redoable, this.undoable, () => this.manager.redo());
  }

  private move(from: number[], to: number[], one: () => boolean): boolean {
    this.last = null;
    const items = from.pop();
    if (items === undefined) return false;
    let done = 0;
    while (done < items && one()) done++;
    if (done > 0) to.push(done);
    return done > 0;
  }
}

/**
 * One contenteditable element kept in step with one document, formatting included (see
 * rich-dom.ts for how the element maps to formatted text). Like FieldBinding: `shadow` is the
 * formatted text last agreed with the document, so any difference between it and the element
 * is a local edit (typed, formatted with the browser's commands, pasted, or written by the
 * page's script) to send; remote changes are made in place and checked.
 */
import { STYLE_KEYS } from '../../../shared/document';
import { TextChannel, type EditMessage } from '../../../shared/text/channel';
import { isNoop, moveOffset, rebase, type TextDelta } from '../../../shared/text/delta';
import { applyRich, diffRich, richFromDelta, sameRich, type RichText } from '../../../shared/text/rich';
import type { OffsetToRange } from './caret-geometry';
import { type BindingOutput, listenAroundTyping } from './field-binding';
import { changedAt, interceptHistory } from './history';
import { pointAt, rangeAt, readLayout, type Layout, type Point } from './rich-dom';
import { applyToElement, rewriteElement } from './rich-dom-write';

/** How long after a write a change the person did not make counts as the page fighting it. */
const WRITE_WATCH_MS = 1_000;

export class RichBinding {
  private readonly channel = new TextChannel(false);
  private shadow: RichText;
  private composing = false;
  private applying = false;
  private readonly held: (EditMessage & { caret?: boolean })[] = [];
  private readonly checkTimer: ReturnType<typeof setInterval>;
  private readonly cleanups: (() => void)[] = [];
  /** Set by any change to the element's subtree except our own writes: the periodic check reads the element only then. */
  private readonly observer: MutationObserver;
  private dirty = false;
  readOnly = false;
  /**
   * What we last wrote, until the person acts or a moment passes: a page that changes it on its
   * own meanwhile is an editor that keeps its own model and renders over ours (a framework
   * editor Tandem has no adapter for). Sending its change would delete collaborators' text and
   * writing again would fight it, so the binding stops instead (`onBroken`).
   */
  private written: { target: RichText; at: number } | null = null;
  private personActed = false;
  private stopped = false;
  /** Hears that the page fought our changes: the binding has stopped, the element is left as the page has it. */
  onBroken: ((reason: string) => void) | null = null;
  /** Hears the person's caret and selection (presence), after any edit made before it was sent. */
  onSelection: ((selection: { anchor: number; head: number; seen: number }) => void) | null = null;
  private lastSelection: { anchor: number; head: number } | null = null;
  private selectionScheduled = false;

  constructor(
    readonly field: HTMLElement,
    readonly key: string,
    readonly docId: string,
    private readonly output: BindingOutput,
    /** A plaintext-only host: text and lines, never formatting. */
    private readonly plain: boolean,
  ) {
    this.shadow = this.read().rich;
    const on = (type: string, listener: () => void): void => {
      field.addEventListener(type, listener);
      this.cleanups.push(() => field.removeEventListener(type, listener));
    };
    on('input', () => {
      if (!this.applying && !this.composing) this.flushLocal();
    });
    listenAroundTyping(on, {
      composing: (active) => (this.composing = active),
      flush: () => this.flushLocal(),
      release: () => this.held.splice(0).forEach((message) => this.receive(message)),
    });
    // What the person does to the element (keys, IME, paste, drop, cut) is theirs to change.
    for (const type of ['keydown', 'beforeinput', 'paste', 'drop', 'cut', 'compositionstart']) {
      const listener = (event: Event): void => {
        if (event.isTrusted) this.personActed = true;
      };
      field.addEventListener(type, listener, true);
      this.cleanups.push(() => field.removeEventListener(type, listener, true));
    }
    this.cleanups.push(
      ...interceptHistory(field, (redo) => {
        if (this.readOnly) return;
        this.flushLocal();
        this.output.undo(redo);
      }),
    );
    // The caret moves by keys, clicks and typing; the document's selectionchange covers the rest.
    for (const type of ['keyup', 'mouseup', 'focus', 'input']) on(type, () => this.reportSelectionSoon());
    const onDocumentSelection = (): void => this.reportSelectionSoon();
    document.addEventListener('selectionchange', onDocumentSelection);
    this.cleanups.push(() => document.removeEventListener('selectionchange', onDocumentSelection));
    // Pages that change the element from script (their own toolbars) fire no input event:
    // look for such changes now and then, when something in the element changed.
    this.observer = new MutationObserver(() => {
      this.dirty = true;
    });
    this.observer.observe(field, { subtree: true, childList: true, characterData: true, attributes: true });
    this.checkTimer = setInterval(() => {
      if (!this.composing && this.dirty) this.flushLocal();
    }, 500);
  }

  private read(points: Point[] = []): Layout {
    return readLayout(this.field, this.plain, points);
  }

  /** The selection's ends (anchor, focus) when they are inside the element. */
  private selection(): Point[] | null {
    const root = this.field.getRootNode() as Document | (ShadowRoot & { getSelection?: () => Selection | null });
    const sel = 'getSelection' in root && root.getSelection ? root.getSelection() : document.getSelection();
    if (!sel || sel.rangeCount === 0 || !sel.anchorNode || !sel.focusNode) return null;
    if (!this.field.contains(sel.anchorNode) || !this.field.contains(sel.focusNode)) return null;
    return [
      { node: sel.anchorNode, offset: sel.anchorOffset },
      { node: sel.focusNode, offset: sel.focusOffset },
    ];
  }

  /** What the element can show of the document's formatting: known marks, none on newlines, none at all when plain. */
  private shown(rich: RichText): RichText {
    const none = {};
    let changed = false;
    const marks = rich.marks.map((m, i) => {
      if ((this.plain || rich.text.charCodeAt(i) === 10) && Object.keys(m).length > 0) {
        changed = true;
        return none;
      }
      return m;
    });
    return changed ? { text: rich.text, marks } : rich;
  }

  /**
   * Starts from the document's content. `fieldWins`: the element holds the person's latest
   * text (a new document, or a background that restarted), so differences are local edits;
   * otherwise the document's content replaces the element's.
   */
  begin(document: { content: TextDelta }, fieldWins: boolean): void {
    const content = this.shown(richFromDelta(document.content, STYLE_KEYS));
    if (fieldWins) {
      this.shadow = content;
      this.flushLocal(true);
      return;
    }
    const current = this.read().rich;
    const replace = diffRich(current, content);
    this.shadow = content;
    if (!isNoop(replace)) this.write(replace, content, false);
  }

  /** The text last agreed with the document. */
  get agreedText(): string {
    return this.shadow.text;
  }

  /** Re-applies typing made before an interruption (text only: formatting made meanwhile is not replayed). */
  replay(base: string, text: string): void {
    this.flushLocal();
    const rebased = rebase(base, text, this.shadow.text);
    if (isNoop(rebased)) return;
    this.write(rebased, applyRich(this.shadow, rebased, STYLE_KEYS), false);
    this.flushLocal();
  }

  /** Sends whatever changed in the element since the shadow, as one edit; returns the selection's offsets as read (null: no selection here, or the element was rewritten). */
  flushLocal(opening = false): (number | null)[] | null {
    this.dirty = false;
    if (this.stopped) return null;
    const selection = this.selection();
    const layout = this.read(selection ?? []);
    const now = layout.rich;
    if (this.fought(now)) return null;
    if (this.readOnly && !sameRich(now, this.shadow)) {
      this.write(diffRich(now, this.shadow), this.shadow, false); // a viewer's element follows the document
      return null;
    }
    if (!sameRich(now, this.shadow)) {
      const caret = selection ? (layout.offsets[1] ?? undefined) : undefined;
      const delta = diffRich(this.shadow, now, caret);
      this.shadow = now;
      this.output.edit(this.channel.send(delta), opening);
    }
    return selection ? layout.offsets : null;
  }

  /** A change from the document (collaborators, another field, or this person's undo when `caret`). */
  receive(message: EditMessage & { caret?: boolean }): void {
    if (this.stopped) return;
    if (this.composing) {
      this.held.push(message); // IME: applied after compositionend
      return;
    }
    this.flushLocal();
    if (this.stopped) return; // the page fought our last change: nothing more is written
    const delta = this.channel.receive(message);
    const target = this.shown(applyRich(this.shadow, delta, STYLE_KEYS));
    this.shadow = target;
    this.write(delta, target, message.caret === true);
  }

  /** True (and the binding stopped) when the page changed what we wrote without the person doing anything. */
  private fought(now: RichText): boolean {
    const written = this.written;
    if (!written) return false;
    if (this.personActed || performance.now() - written.at > WRITE_WATCH_MS) {
      this.written = null;
      return false;
    }
    if (sameRich(now, written.target)) return false;
    this.stop();
    this.onBroken?.('the page rewrote what Tandem wrote into it (an editor Tandem does not support yet)');
    return true;
  }

  /**
   * Makes the change in the element, in place, and checks that the element now reads as
   * `target`; keeps the selection where the person left it (moved by what was inserted or
   * deleted before it), or puts the caret where an undo changed the text.
   */
  private write(delta: TextDelta, target: RichText, caretToChange: boolean): void {
    const selection = this.selection();
    let expected: [number, number] | null = null;
    if (selection) {
      const before = this.read(selection);
      const [anchor, focus] = before.offsets;
      if (anchor !== null && anchor !== undefined && focus !== null && focus !== undefined) expected = [moveOffset(anchor, delta), moveOffset(focus, delta)];
    }
    this.applying = true;
    try {
      try {
        applyToElement(this.field, delta, this.plain);
      } catch (error) {
        console.warn('[tandem] could not apply a change in place', error); // repaired just below
      }
      if (!sameRich(this.read().rich, target)) rewriteElement(this.field, target, this.plain);
      if (caretToChange) {
        const at = changedAt(delta);
        if (at !== null && (selection || this.field.contains(document.activeElement) || document.activeElement === this.field)) expected = [at, at];
      }
      if (expected) {
        this.select(expected[0], expected[1]);
        // Our caret moved with the text: the document's cursor for it names the same character,
        // so the selectionchange this causes is not news.
        if (this.lastSelection) this.lastSelection = { anchor: expected[0], head: expected[1] };
      }
    } finally {
      this.applying = false;
      this.observer.takeRecords(); // our own changes: nothing to send
    }
    // Watched for a moment: a page that takes it back (now, in a timer, or at its next render) fights.
    this.written = { target: this.read().rich, at: performance.now() };
    this.personActed = false;
    // The page hears of it as of any edit (a framework that renders the element from its state,
    // a hidden input that mirrors it): without it, its next render would put back the old text.
    // Our own listener lets it pass; what the page changes in its handler is seen, and fights.
    this.applying = true;
    try {
      this.field.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText' }));
    } finally {
      this.applying = false;
    }
    setTimeout(() => {
      if (!this.stopped && this.written) this.fought(this.read().rich);
    }, 0);
    requestAnimationFrame(() => {
      if (!this.stopped && this.written) this.fought(this.read().rich);
    });
  }

  /** Puts the selection at these offsets, unless it is there already (then the browser's own placement is kept). */
  private select(anchor: number, focus: number): void {
    const current = this.selection();
    const layout = this.read(current ?? []);
    if (current && layout.offsets[0] === anchor && layout.offsets[1] === focus) return;
    const a = pointAt(layout, anchor);
    const f = pointAt(layout, focus);
    document.getSelection()?.setBaseAndExtent(a.node, a.offset, f.node, f.offset);
  }

  acknowledge(seen: number): void {
    this.channel.acknowledge(seen);
  }

  /** Once per task however many events fired (a paste moves the caret once as far as others can tell). */
  private reportSelectionSoon(): void {
    if (this.selectionScheduled || this.applying) return;
    this.selectionScheduled = true;
    queueMicrotask(() => {
      this.selectionScheduled = false;
      this.reportSelection();
    });
  }

  /** Sends the caret and selection, in the document's offsets, if they changed since last time. */
  reportSelection(): void {
    if (!this.onSelection || this.composing || this.applying) return;
    const selection = this.selection();
    if (!selection) return; // the person is elsewhere: their last caret here stays shown
    // The edit that moved the caret reaches the document first; the same read gives the caret.
    const [anchor, head] = this.flushLocal() ?? this.read(selection).offsets;
    if (anchor === null || anchor === undefined || head === null || head === undefined) return;
    if (this.lastSelection?.anchor === anchor && this.lastSelection.head === head) return;
    this.lastSelection = { anchor, head };
    this.onSelection({ anchor, head, seen: this.channel.seen });
  }

  /** A position the document side measured (a collaborator's caret), in the element's text now. */
  positionFromDocument(seen: number, position: number): number {
    return Math.min(this.channel.positionFrom(seen, position), this.shadow.text.length);
  }

  /** Text offsets to a DOM range in this element's own text model (for drawing others' carets). */
  readonly offsetToRange: OffsetToRange = (root, start, end) => rangeAt(readLayout(root, this.plain), start, end, document);

  stop(): void {
    this.stopped = true;
    clearInterval(this.checkTimer);
    this.observer.disconnect();
    for (const c of this.cleanups) c();
  }
}

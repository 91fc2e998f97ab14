/**
 * One field kept in step with one document. The field is edited by the person, by remote
 * collaborators (through us) and sometimes by the page itself; `shadow` is the text we last
 * agreed with the background on, so any difference between it and the field is a local edit
 * (typed, pasted, or written by the page's own script) to send.
 */
import { TextChannel, type EditMessage } from '../../../shared/text/channel';
import { applyDelta, diff, isNoop, rebase, type TextDelta } from '../../../shared/text/delta';
import { hop } from '../../../shared/trace';
import { changedAt, interceptHistory } from './history';

export type TextField = HTMLTextAreaElement | HTMLInputElement;

/** Remote text reaches the field through these, in this order of preference. */
const nativeValueSetter = (el: TextField): ((v: string) => void) => {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, 'value')!.set!;
  return (v) => setter.call(el, v);
};

/** While true, `input` events come from our own writes (dispatched synchronously) and are ignored. */
let applyingRemote = false;

/** Where a binding's edits and undo requests go (the background's port, or the page's own document). */
export interface BindingOutput {
  /** `opening`: the field's own text when it was bound (not a change made now): never an undo step. */
  edit(message: EditMessage, opening: boolean): void;
  /** Undo (`redo` false) or redo this person's last change; the result comes back as a remote change with `caret`. */
  undo(redo: boolean): void;
}

export class FieldBinding {
  private readonly channel = new TextChannel(false);
  private shadow: string;
  private composing = false;
  private readonly held: EditMessage[] = [];
  private readonly checkTimer: ReturnType<typeof setInterval>;
  private readonly cleanups: (() => void)[] = [];
  readOnly = false;
  private readonly measuring: boolean;
  private stopped = false;
  /** Collaborators changed the field while the person was in it: a `change` is due when they leave. */
  private changedUnseen = false;
  /**
   * Hears that the field cannot hold the document's text (a one-line input drops line breaks, an
   * email field trims spaces, a length limit or the page's filter cuts it): sending back what it
   * holds would delete the others' text, so the binding stops instead and the document keeps it.
   */
  onBroken: ((reason: string) => void) | null = null;
  /** Hears the person's caret and selection (presence), after any edit made before it was sent. */
  onSelection: ((selection: { anchor: number; head: number; seen: number }) => void) | null = null;
  private lastSelection: { anchor: number; head: number } | null = null;

  constructor(
    readonly field: TextField,
    readonly key: string,
    readonly docId: string,
    private readonly output: BindingOutput,
  ) {
    this.shadow = field.value;
    const on = (type: string, listener: () => void): void => {
      field.addEventListener(type, listener);
      this.cleanups.push(() => field.removeEventListener(type, listener));
    };
    // Benchmarks mark the page (<html data-tandem-measure>) to read our per-edit cost from its performance timeline.
    const measuring = document.documentElement.hasAttribute('data-tandem-measure');
    on('input', () => {
      if (applyingRemote || this.composing) return;
      const start = performance.now();
      this.flushLocal();
      if (measuring) {
        performance.measure('tandem:local-edit', { start });
        hop('field-input', this.shadow.length, start);
      }
    });
    this.measuring = measuring;
    on('blur', () => {
      if (!this.changedUnseen) return;
      this.changedUnseen = false;
      field.dispatchEvent(new Event('change', { bubbles: true }));
    });
    listenAroundTyping(on, {
      composing: (active) => (this.composing = active),
      flush: () => this.flushLocal(),
      release: () => this.held.splice(0).forEach((message) => this.receive(message)),
    });
    this.cleanups.push(
      ...interceptHistory(field, (redo) => {
        if (this.readOnly) return;
        this.flushLocal(); // what was typed is in the document before it is undone
        this.output.undo(redo);
      }),
    );
    // The caret moves by keys, clicks, selection, focus and typing; 'selectionchange' on the field
    // is recent (Chrome 127, Firefox 92), so the older events stay as a fallback, deduplicated.
    for (const type of ['select', 'selectionchange', 'keyup', 'mouseup', 'focus', 'input']) on(type, () => this.reportSelectionSoon());
    const onDocumentSelection = (): void => {
      if (field.matches(':focus')) this.reportSelectionSoon();
    };
    document.addEventListener('selectionchange', onDocumentSelection);
    this.cleanups.push(() => document.removeEventListener('selectionchange', onDocumentSelection));
    // Pages that set `.value` from script fire no event: look for such changes now and then.
    this.checkTimer = setInterval(() => {
      if (!this.composing) this.flushLocal();
    }, 500);
  }

  /**
   * Starts from the document's text. `fieldWins`: the field holds the person's latest text (a
   * new document, or a background that restarted while bound), so differences are local edits;
   * otherwise the document's text replaces the field's.
   */
  begin(document: { text: string }, fieldWins: boolean): void {
    const text = document.text;
    if (fieldWins) {
      this.shadow = text;
      this.flushLocal(true);
      return;
    }
    const before = this.field.value;
    this.shadow = before;
    const replace = diff(this.shadow, text);
    if (isNoop(replace)) return;
    this.write(replace);
    this.shadow = text;
    if (this.field.value !== text) {
      // It cannot hold the document: the person's text goes back, and the document is left as it is.
      this.write(diff(this.field.value, before));
      this.cannotHold();
    }
  }

  private cannotHold(): void {
    this.stop();
    this.onBroken?.(
      this.field instanceof HTMLInputElement
        ? 'this one-line field cannot hold the shared text as it is (line breaks, spaces at its ends, its length)'
        : 'this field cannot hold the shared text as it is (its length limit or the page cuts it)',
    );
  }

  /** The text last agreed with the document (the field may be ahead by unsent typing). */
  get agreedText(): string {
    return this.shadow;
  }

  /**
   * Re-applies edits made before an interruption: the person turned `base` into `text`, and
   * the document has moved on since; their edits are rebased onto the field's current text.
   */
  replay(base: string, text: string): void {
    this.flushLocal();
    const rebased = rebase(base, text, this.shadow);
    if (isNoop(rebased)) return;
    this.write(rebased);
    this.flushLocal();
  }

  /** Sends whatever changed in the field since the shadow, as one edit. */
  flushLocal(opening = false): void {
    const value = this.field.value;
    if (value === this.shadow) return;
    if (this.readOnly) {
      // A viewer's field follows the document: undo the local change.
      const back = diff(value, this.shadow);
      this.write(back);
      return;
    }
    const caret = this.field.selectionEnd ?? undefined;
    const delta = diff(this.shadow, value, caret === null ? undefined : caret);
    this.shadow = value;
    this.output.edit(this.channel.send(delta), opening);
  }

  private selectionScheduled = false;

  /**
   * Once per task however many events it fired: a script writing thousands of edits in one go
   * (or a paste) moves the caret once as far as anyone else can tell.
   */
  private reportSelectionSoon(): void {
    if (this.selectionScheduled || applyingRemote) return;
    this.selectionScheduled = true;
    queueMicrotask(() => {
      this.selectionScheduled = false;
      this.reportSelection();
    });
  }

  /** Sends the caret and selection if they changed since last time. */
  reportSelection(): void {
    // Only the person's own caret: not the field's selection moving under remote writes in a
    // field they never entered (its last caret stays shown while they are elsewhere).
    if (!this.onSelection || this.composing || applyingRemote || !this.field.matches(':focus')) return;
    const start = this.field.selectionStart;
    const end = this.field.selectionEnd;
    if (start === null || end === null) return; // <input type=email> has no selection API
    const backward = this.field.selectionDirection === 'backward';
    const anchor = backward ? end : start;
    const head = backward ? start : end;
    if (this.lastSelection?.anchor === anchor && this.lastSelection.head === head) return;
    this.flushLocal(); // the edit that moved the caret reaches the document first
    this.lastSelection = { anchor, head };
    this.onSelection({ anchor, head, seen: this.channel.seen });
  }

  /** A position the document side measured (a collaborator's caret), in the field's text now. */
  positionFromDocument(seen: number, position: number): number {
    return Math.min(this.channel.positionFrom(seen, position), this.field.value.length);
  }

  /** A change from the document (collaborators, or this person in another tab). */
  receive(message: EditMessage & { caret?: boolean }): void {
    if (this.stopped) return;
    if (this.composing) {
      this.held.push(message); // IME: applied after compositionend
      return;
    }
    this.flushLocal();
    const start = performance.now();
    const delta = this.channel.receive(message);
    const before = this.shadow;
    this.shadow = applyDelta(this.shadow, delta);
    // Formatting made in a rich field changes nothing here: no write, no input event for the page.
    if (this.shadow === before && !message.caret) return;
    this.write(delta);
    if (message.caret) {
      const at = changedAt(delta);
      if (at !== null) {
        try {
          this.field.setSelectionRange(at, at);
        } catch {
          // <input type=email> has no selection API: the caret stays where the browser put it.
        }
      }
    }
    // The remote edit moved our caret with the text (setRangeText 'preserve'): the document's
    // cursor for it names the same character, so the selectionchange this causes is not news.
    if (this.lastSelection && this.field.selectionStart !== null && this.field.selectionEnd !== null) {
      const backward = this.field.selectionDirection === 'backward';
      this.lastSelection = backward ? { anchor: this.field.selectionEnd, head: this.field.selectionStart } : { anchor: this.field.selectionStart, head: this.field.selectionEnd };
    }
    // A field that did not take it (a one-line input, maxlength, the page's own filter) stops
    // rather than send back what it holds, which would delete the others' text.
    if (this.field.value !== this.shadow) return this.cannotHold();
    if (this.measuring) {
      performance.measure('tandem:remote-edit', { start });
      hop('field-receive', this.shadow.length, start);
    }
  }

  /**
   * Applies a delta to the field keeping the caret and selection where the person left them
   * (setRangeText 'preserve'), then tells the page's framework with an `input` event.
   */
  private write(delta: TextDelta): void {
    const el = this.field;
    applyingRemote = true;
    try {
      try {
        let at = 0;
        for (const op of delta) {
          if ('retain' in op) at += op.retain;
          else if ('delete' in op) el.setRangeText('', at, at + op.delete, 'preserve');
          else {
            el.setRangeText(op.insert, at, at, 'preserve');
            at += op.insert.length;
          }
        }
      } catch {
        // <input type=email> has no setRangeText (it throws before changing anything): set the
        // whole value through the native setter, which frameworks' value trackers do not hide.
        nativeValueSetter(el)(applyDelta(el.value, delta));
      }
      el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText' }));
      // Forms that read a field on `change` (Vue's v-model.lazy, Angular's updateOn: 'blur')
      // would put their stale value back at their next render. A field the person is not in
      // changes now; one they are in, when they leave it (a script's change resets the
      // browser's own, so it would fire none).
      if (el.matches(':focus')) this.changedUnseen = true;
      else el.dispatchEvent(new Event('change', { bubbles: true }));
    } finally {
      applyingRemote = false;
    }
  }

  acknowledge(seen: number): void {
    this.channel.acknowledge(seen);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.checkTimer);
    for (const c of this.cleanups) c();
  }
}

/**
 * What both bindings of a field do around typing: an input method's composition holds back what
 * the person types and what arrives from the document until it ends (then both go, in that
 * order); leaving the field sends what was typed.
 */
export function listenAroundTyping(on: (type: string, listener: () => void) => void, binding: { composing(active: boolean): void; flush(): void; release(): void }): void {
  on('compositionstart', () => binding.composing(true));
  on('compositionend', () => {
    binding.composing(false);
    binding.flush();
    binding.release();
  });
  on('blur', () => binding.flush());
}

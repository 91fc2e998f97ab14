/**
 * A framework editor kept in step with one document, through its adapter in the page's world
 * (PageLink). Like FieldBinding, it is the field side of a text channel to the background;
 * unlike it, the editor is never touched here: the adapter reads it and changes it through its
 * own model, so its history, selection and plugins stay consistent. `shadow` is the content
 * last agreed with the document (formatting included for rich editors).
 */
import { TextChannel, type EditMessage } from '../../../shared/text/channel';
import { applyDelta, diff, isNoop, rebase, type TextDelta } from '../../../shared/text/delta';
import { applyRich, diffRich, richFromDelta, type RichText } from '../../../shared/text/rich';
import type { PageNotice, PageReply, Rect, TextSelection } from '../page-protocol';
import type { BindingOutput } from './field-binding';
import { changedAt, interceptHistory } from './history';
import type { PageLink } from './page-link';

/** What attaching found: whether the editor shows formatting, and which. */
export interface Attached {
  rich: boolean;
  styles: ReadonlySet<string>;
}

export class EditorBinding {
  private readonly channel = new TextChannel(false);
  private shadow: string | RichText;
  private composing = false;
  private readonly held: (EditMessage & { caret?: boolean })[] = [];
  private readonly cleanups: (() => void)[] = [];
  private stopped = false;
  readOnly = false;
  /** Hears the person's caret and selection (presence). */
  onSelection: ((selection: { anchor: number; head: number; seen: number }) => void) | null = null;
  /** The editor's view moved without a DOM scroll event (its own viewport scrolled): collaborators' carets are placed again. */
  onMoved: (() => void) | null = null;
  /** Hears that the editor could not be kept exact: the binding has stopped, the editor is left as it is. */
  onBroken: ((reason: string) => void) | null = null;
  private lastSelection: TextSelection | null = null;
  private selectionScheduled = false;
  /** Benchmarks mark the page (<html data-tandem-measure>) to read our per-edit cost from its performance timeline. */
  private get measuring(): boolean {
    return document.documentElement.hasAttribute('data-tandem-measure');
  }

  constructor(
    readonly field: HTMLElement,
    readonly key: string,
    readonly docId: string,
    private readonly output: BindingOutput,
    private readonly link: PageLink,
    private readonly attached: Attached,
  ) {
    this.shadow = attached.rich ? { text: '', marks: [] } : '';
    link.listener = (notice) => this.onNotice(notice);
    const on = (type: string, listener: (event: Event) => void, capture = false): void => {
      field.addEventListener(type, listener, capture);
      this.cleanups.push(() => field.removeEventListener(type, listener, capture));
    };
    on('compositionstart', () => this.setComposing(true), true);
    on('compositionend', () => this.setComposing(false), true);
    // Undo goes to the document's undo manager (this person's changes only): the editor's own
    // keys and menu never reach the editor, whose history would hold collaborators' changes.
    this.cleanups.push(
      ...interceptHistory(
        field,
        (redo) => {
          if (this.readOnly) return;
          this.link.call({ op: 'flush' });
          this.output.undo(redo);
        },
        true,
      ),
    );
    for (const type of ['keyup', 'mouseup', 'focusin']) on(type, () => this.reportSelectionSoon());
    const onDocumentSelection = (): void => {
      if (field.contains(document.activeElement) || field.ownerDocument.activeElement === field) this.reportSelectionSoon();
    };
    document.addEventListener('selectionchange', onDocumentSelection);
    this.cleanups.push(() => document.removeEventListener('selectionchange', onDocumentSelection));
  }

  /** IME: remote changes wait while the person composes, and go in after it ends. */
  private setComposing(active: boolean): void {
    this.composing = active;
    if (active) return;
    // The editor commits the composed text in its own time: flushed before the held changes.
    queueMicrotask(() => this.applyHeld());
  }

  private content(reply: PageReply): string | RichText {
    if (!reply.ok || !('read' in reply)) throw new Error(`the editor could not be read: ${reply.ok ? 'no content' : reply.reason}`);
    return this.attached.rich ? richFromDelta(reply.read.content ?? [], this.attached.styles) : reply.read.text;
  }

  /** What the editor can show of the document: its known marks, none on newlines. */
  private shown(content: TextDelta): string | RichText {
    if (!this.attached.rich) {
      let text = '';
      for (const op of content) if ('insert' in op) text += op.insert;
      return text;
    }
    const rich = richFromDelta(content, this.attached.styles);
    const none = {};
    return { text: rich.text, marks: rich.marks.map((m, i) => (rich.text.charCodeAt(i) === 10 ? none : m)) };
  }

  /**
   * Starts from the document. `fieldWins`: the editor holds the person's latest text (a new
   * document, a background that restarted), sent as the opening edit; otherwise the document's
   * content replaces the editor's.
   */
  begin(document: { text: string; content: TextDelta }, fieldWins: boolean): void {
    const agreed = this.shown(document.content.length > 0 || document.text.length === 0 ? document.content : [{ insert: document.text }]);
    const current = this.content(this.link.call({ op: 'read' }));
    this.shadow = agreed;
    const change = this.difference(fieldWins ? agreed : current, fieldWins ? current : agreed);
    if (isNoop(change)) return;
    if (fieldWins) {
      this.shadow = current;
      this.output.edit(this.channel.send(change), true);
    } else this.write(change);
  }

  private difference(from: string | RichText, to: string | RichText): TextDelta {
    return typeof from === 'string' ? diff(from, to as string) : diffRich(from, to as RichText);
  }

  private applied(content: string | RichText, delta: TextDelta): string | RichText {
    return typeof content === 'string' ? applyDelta(content, delta) : applyRich(content, delta, this.attached.styles);
  }

  /** The text last agreed with the document. */
  get agreedText(): string {
    return typeof this.shadow === 'string' ? this.shadow : this.shadow.text;
  }

  /** The editor's text now (unsent typing included). */
  currentText(): string {
    this.link.call({ op: 'flush' });
    const reply = this.link.call({ op: 'read' });
    return reply.ok && 'read' in reply ? reply.read.text : this.agreedText;
  }

  /** Re-applies typing made before an interruption (text only). */
  replay(base: string, text: string): void {
    this.flushLocal();
    const rebased = rebase(base, text, this.agreedText);
    if (isNoop(rebased)) return;
    this.write(rebased);
    this.output.edit(this.channel.send(rebased), false);
    this.shadow = this.applied(this.shadow, rebased);
  }

  /** Makes the editor report what it changed and has not said yet (its notices arrive inside this call). */
  flushLocal(): void {
    if (!this.stopped) this.link.call({ op: 'flush' });
  }

  private onNotice(notice: PageNotice): void {
    if (this.stopped) return;
    switch (notice.t) {
      case 'change': {
        const start = performance.now();
        const after = this.applied(this.shadow, notice.delta);
        if (this.readOnly) {
          // A viewer's editor follows the document: the change is taken back.
          this.write(this.difference(after, this.shadow));
          return;
        }
        this.shadow = after;
        this.output.edit(this.channel.send(notice.delta), false);
        this.reportSelectionSoon();
        if (this.measuring) performance.measure('tandem:local-edit', { start });
        return;
      }
      case 'selection':
        this.reportSelectionSoon();
        return;
      case 'undo':
        if (!this.readOnly) this.output.undo(notice.redo);
        return;
      case 'broken':
        this.fail(notice.reason);
        return;
      case 'composing':
        this.setComposing(notice.active);
        return;
      case 'moved':
        this.onMoved?.();
        return;
      case 'prepared':
        return;
    }
  }

  /** A change from the document (collaborators, another field, or this person's undo when `caret`). */
  receive(message: EditMessage & { caret?: boolean }): void {
    if (this.stopped) return;
    this.held.push(message);
    this.applyHeld();
  }

  /**
   * Applies the changes that wait, unless they must wait longer: during an IME composition (they
   * go in after compositionend), or while a re-render has the editor out of the page (its adapter
   * cannot answer there; they go in if it comes back, which the page's rescan looks at, else the
   * rescan binds the new editor, which gets the document whole).
   */
  applyHeld(): void {
    if (this.stopped || this.composing || !this.field.isConnected || this.held.length === 0) return;
    for (const next of this.held.splice(0)) if (!this.stopped) this.take(next);
  }

  private take(message: EditMessage & { caret?: boolean }): void {
    const start = performance.now();
    this.flushLocal();
    const delta = this.channel.receive(message);
    this.shadow = this.applied(this.shadow, delta);
    if (!this.write(delta)) return;
    if (this.measuring) performance.measure('tandem:remote-edit', { start });
    if (message.caret) {
      const at = changedAt(delta);
      if (at !== null) this.link.call({ op: 'select', selection: { anchor: at, head: at } });
    }
  }

  /** Makes the change in the editor through its adapter; false when the editor broke (the binding then stops). */
  private write(delta: TextDelta): boolean {
    if (isNoop(delta)) return true;
    const reply = this.link.call({ op: 'apply', delta });
    if (reply.ok) return true;
    this.fail(reply.reason);
    return false;
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.onBroken?.(reason);
  }

  acknowledge(seen: number): void {
    this.channel.acknowledge(seen);
  }

  private reportSelectionSoon(): void {
    if (this.selectionScheduled) return;
    this.selectionScheduled = true;
    queueMicrotask(() => {
      this.selectionScheduled = false;
      this.reportSelection();
    });
  }

  /** Sends the caret and selection, in the document's offsets, if they changed since last time. */
  reportSelection(): void {
    if (!this.onSelection || this.composing || this.stopped) return;
    const reply = this.link.call({ op: 'selection' });
    const selection = reply.ok && 'selection' in reply ? reply.selection : null;
    if (!selection) return;
    if (this.lastSelection?.anchor === selection.anchor && this.lastSelection.head === selection.head) return;
    this.lastSelection = selection;
    this.onSelection({ ...selection, seen: this.channel.seen });
  }

  /** A position the document side measured (a collaborator's caret), in the editor's text now. */
  positionFromDocument(seen: number, position: number): number {
    return Math.min(this.channel.positionFrom(seen, position), this.agreedText.length);
  }

  /** Where text ranges are on screen, from the editor's own geometry. */
  rects(ranges: [number, number][]): Rect[][] {
    const reply = this.link.call({ op: 'rects', ranges });
    return reply.ok && 'rects' in reply ? reply.rects : ranges.map(() => []);
  }

  /** `keepReading`: the extension went away; the editor stays attached so its text can still be read (and stashed) from this frame. */
  stop(keepReading = false): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.cleanups) c();
    if (keepReading) this.link.listener = null;
    else this.link.close();
  }
}

/**
 * The page side of one bound editor: it keeps the content last reported to the content script
 * (`shadow`), turns the adapter's change events into deltas on it, applies the document's
 * changes through the adapter, and checks that the editor then holds exactly what it should.
 * An editor that does not (it refused or rewrote part of the change) is reported broken and
 * left alone: Tandem never keeps writing into an editor it cannot keep exact.
 */
import { applyDelta, cutsSurrogatePair, diff, isNoop, moveOffset, type TextDelta } from '../../../shared/text/delta';
import { applyRich, diffRich, richToDelta, sameRich, type RichText } from '../../../shared/text/rich';
import type { PageNotice, TextSelection } from '../page-protocol';
import type { EditorAdapter } from './adapter';

/** Plain texts this long or shorter are compared in full after each remote change; longer ones by length. */
const FULL_CHECK_MAX = 200_000;

export class EditorHost {
  private shadow: string | RichText;
  /** True while the adapter applies our change: its change events are not the person's. */
  applying = false;
  private broken = false;

  /** Benchmarks mark the page (<html data-tandem-measure>) to read the adapter's cost from its performance timeline. */
  private get measuring(): boolean {
    return document.documentElement.hasAttribute('data-tandem-measure');
  }

  constructor(
    readonly adapter: EditorAdapter,
    private readonly notify: (notice: PageNotice) => void,
  ) {
    this.shadow = adapter.read();
  }

  /** The adapter saw a change. `delta`: exactly what changed, when the editor said so. */
  changed(delta?: TextDelta): void {
    if (this.applying || this.broken) return;
    if (!this.measuring) return this.report(delta);
    const start = performance.now();
    this.report(delta);
    performance.measure('tandem:adapter-local', { start });
  }

  private report(delta?: TextDelta): void {
    if (delta && typeof this.shadow === 'string') {
      if (isNoop(delta)) return;
      const before = this.shadow;
      this.shadow = applyDelta(before, delta);
      // Half an emoji typed after its other half: said again in whole characters.
      this.notify({ t: 'change', delta: cutsSurrogatePair(before, delta, this.shadow) ? diff(before, this.shadow) : delta });
      return;
    }
    const now = this.adapter.read();
    const caret = this.adapter.selection()?.head;
    const change = typeof this.shadow === 'string' ? diff(this.shadow, now as string, caret) : diffRich(this.shadow, now as RichText, caret);
    this.shadow = now;
    if (!isNoop(change)) this.notify({ t: 'change', delta: change });
  }

  read(): { text: string; content?: TextDelta } {
    this.flush();
    return typeof this.shadow === 'string' ? { text: this.shadow } : { text: this.shadow.text, content: richToDelta(this.shadow) };
  }

  flush(): void {
    if (this.broken) return;
    this.adapter.flush?.();
    // An editor whose change events we cannot see all of: compare now (cheap for the small
    // texts rich editors hold; plain adapters report every change exactly).
    if (typeof this.shadow !== 'string') this.changed();
  }

  /** Applies a change from the document; false when the editor could not be kept exact (it is then detached). */
  apply(delta: TextDelta): boolean {
    if (this.broken) return false;
    if (!this.measuring) return this.applyChange(delta);
    const start = performance.now();
    const done = this.applyChange(delta);
    const length = typeof this.shadow === 'string' ? this.shadow.length : this.shadow.text.length;
    performance.measure('tandem:adapter-remote', { start, detail: { length } });
    return done;
  }

  private applyChange(delta: TextDelta): boolean {
    const expected = typeof this.shadow === 'string' ? applyDelta(this.shadow, delta) : applyRich(this.shadow, delta, this.adapter.styles);
    const before = this.adapter.rich && this.adapter.focused() ? this.adapter.selection() : null;
    this.write(delta);
    let now = this.adapter.read();
    if (!this.same(now, expected)) {
      // One repair: what is still missing, computed from what the editor holds now.
      this.write(typeof expected === 'string' ? diff(now as string, expected) : diffRich(now as RichText, expected));
      now = this.adapter.read();
      if (!this.same(now, expected)) {
        this.broken = true;
        this.shadow = now;
        this.notify({ t: 'broken', reason: 'the editor changed what Tandem wrote into it' });
        return false;
      }
    }
    this.shadow = expected;
    // Rich editors map their selection through structural edits in their own ways: put the
    // person's caret where it belongs in the text (code editors map it exactly already).
    if (before) {
      const want: TextSelection = { anchor: moveOffset(before.anchor, delta), head: moveOffset(before.head, delta) };
      const got = this.adapter.selection();
      if (!got || got.anchor !== want.anchor || got.head !== want.head) this.select(want);
    }
    return true;
  }

  /** The editor went away from the bound text: stop, and say why (nothing more is written into it). */
  detach(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.notify({ t: 'broken', reason });
  }

  select(selection: TextSelection): void {
    this.applying = true;
    try {
      this.adapter.select(selection);
    } finally {
      this.applying = false;
    }
  }

  private write(delta: TextDelta): void {
    if (isNoop(delta)) return;
    this.applying = true;
    try {
      this.adapter.apply(delta);
    } catch (error) {
      console.warn('[tandem] the editor refused a change', error); // the check after it decides
    } finally {
      this.applying = false;
    }
  }

  private same(now: string | RichText, expected: string | RichText): boolean {
    if (typeof now === 'string' || typeof expected === 'string') {
      const a = now as string;
      const b = expected as string;
      return a.length === b.length && (a.length > FULL_CHECK_MAX || a === b);
    }
    return sameRich(now, expected);
  }
}

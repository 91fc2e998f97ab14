/**
 * The content script's end of the page-world adapters (see ../page-protocol.ts): synchronous
 * calls on one editor, and the notices it sends.
 */
import { CALL_EVENT, NOTICE_EVENT, REPLY_EVENT, type PageCall, type PageNotice, type PageReply } from '../page-protocol';

export class PageLink {
  private reply: PageReply | null = null;
  private readonly onReply = (event: Event): void => {
    // An editor nested in this one (a code block in a rich-text editor) answers on its own root,
    // and the event bubbles through ours: only our root's are ours.
    if (event.target !== this.root) return;
    const detail = (event as CustomEvent<unknown>).detail;
    if (typeof detail !== 'string') return;
    try {
      this.reply = JSON.parse(detail) as PageReply;
    } catch {
      this.reply = { ok: false, reason: 'unreadable answer' };
    }
  };
  private readonly onNotice = (event: Event): void => {
    if (event.target !== this.root) return;
    const detail = (event as CustomEvent<unknown>).detail;
    if (typeof detail !== 'string' || this.closed) return;
    let notice: PageNotice;
    try {
      notice = JSON.parse(detail) as PageNotice;
    } catch {
      return; // not ours: the page's own event under our name
    }
    this.listener?.(notice);
  };
  private closed = false;
  /** Hears the editor's notices (changes, selection, undo, broken). */
  listener: ((notice: PageNotice) => void) | null = null;

  constructor(readonly root: HTMLElement) {
    root.addEventListener(REPLY_EVENT, this.onReply);
    root.addEventListener(NOTICE_EVENT, this.onNotice);
  }

  /** Asks the page to look for the editor's instance, and waits (at most `timeoutMs`) until it has. */
  prepare(call: Extract<PageCall, { op: 'prepare' }>, timeoutMs = 2_000): Promise<void> {
    return new Promise((resolve) => {
      const listener = this.listener;
      const done = (): void => {
        clearTimeout(timer);
        this.listener = listener;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.listener = (notice) => (notice.t === 'prepared' ? done() : listener?.(notice));
      const reply = this.call(call);
      if (!reply.ok) done();
    });
  }

  /** Calls the adapter; answered before this returns (no adapter there: a refusal). */
  call(call: PageCall): PageReply {
    if (this.closed) return { ok: false, reason: 'detached' };
    this.reply = null;
    this.root.dispatchEvent(new CustomEvent(CALL_EVENT, { detail: JSON.stringify(call), bubbles: true, composed: true }));
    const reply = this.reply as PageReply | null;
    this.reply = null;
    return reply ?? { ok: false, reason: 'the editor adapter did not answer' };
  }

  close(): void {
    if (this.closed) return;
    this.call({ op: 'detach' });
    this.closed = true;
    this.listener = null;
    this.root.removeEventListener(REPLY_EVENT, this.onReply);
    this.root.removeEventListener(NOTICE_EVENT, this.onNotice);
  }
}

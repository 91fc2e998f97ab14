/**
 * What Tandem draws on pages: the "Collaborate" control next to a focused field, a status badge
 * on each bound field, and short notices. Everything lives in one shadow root so page styles
 * cannot break it; it never holds a secret (share links go to the clipboard, not the DOM), and
 * every click handler ignores events the page synthesised (`isTrusted`).
 *
 * None of it takes a click or a key meant for a field: it sits outside the field's box (above
 * it, or below when there is no room above), and whatever must overlap a field (no room on
 * either side) lets the pointer through to it; the badge never takes the pointer at all. The
 * one exception is the Collaborate control of an unbound field that fills its frame: it sits in
 * the field's bottom corner and stays clickable, or the field could not be bound by pointer.
 */
import type { RemotePeer } from '../../../shared/presence';
import type { FieldStatus } from '../messages';

/** A bound or bindable field (text control or editing host). */
type TextField = HTMLElement;
import { PRESENCE_STYLE, PresenceOverlay, type Geometry, type PresenceTarget } from './presence-overlay';

const STYLE = `
:host { all: initial; }
.layer { position: fixed; inset: 0; pointer-events: none; z-index: 2147483647; font: 12px/1.3 system-ui, sans-serif; }
button, .notice, .peers { pointer-events: auto; }
/* Over a field (no room beside it): the pointer goes through to the field. */
.layer .over, .layer .over * { pointer-events: none; }
.over { opacity: 0.85; }
button { font: inherit; border: 1px solid #2456c7; background: #2f6fed; color: #fff; border-radius: 4px; padding: 2px 8px; cursor: pointer; position: absolute; }
button.secondary { background: #fff; color: #2456c7; }
.badge { position: absolute; pointer-events: none; background: #eef3ff; color: #1c3d8c; border: 1px solid #b9cdfa; border-radius: 10px; padding: 1px 7px; white-space: nowrap; }
.badge[data-state="offline"], .badge[data-state="problem"] { background: #fff4e5; color: #8a4b00; border-color: #f5c27a; }
.notice { position: absolute; background: #1f2937; color: #fff; border-radius: 4px; padding: 4px 8px; max-width: 320px; }
.notice .dismiss { position: static; background: transparent; border: 0; color: #cbd5e1; padding: 0 0 0 8px; font-size: 14px; line-height: 1; }
.notice a { color: #9cc2ff; }
.peers { position: absolute; background: #fff; color: #1c3d8c; border: 1px solid #b9cdfa; border-radius: 10px; padding: 1px 7px; white-space: nowrap; }
.peers i { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 2px; }
${PRESENCE_STYLE}`;

function click(el: HTMLElement, handler: () => void): void {
  el.addEventListener('click', (event) => {
    if (!event.isTrusted) return; // the page clicking our buttons from script
    event.preventDefault();
    handler();
  });
}

export class PageUi {
  private readonly host = document.createElement('div');
  private readonly layer = document.createElement('div');
  private readonly control = document.createElement('button');
  private readonly offerButton = document.createElement('button');
  private readonly badges = new Map<TextField, HTMLElement>();
  /** "Who else is there" next to each bound field's badge. */
  private readonly peerChips = new Map<PresenceTarget, HTMLElement>();
  private readonly presence: PresenceOverlay;
  private notice: HTMLElement | null = null;
  /** The field the notice is about (null: the page). */
  private noticeFor: TextField | null = null;
  private noticeCleanup: (() => void) | null = null;
  private controlFor: TextField | null = null;
  private offer: { docId: string; title: string } | null = null;

  constructor(private readonly actions: { collaborate(field: TextField): void; bindOffered(field: TextField, docId: string): void }) {
    this.host.setAttribute('data-tandem-ui', '');
    const root = this.host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.layer.className = 'layer';
    root.append(style, this.layer);
    this.presence = new PresenceOverlay(this.layer);
    this.control.textContent = 'Collaborate';
    this.control.setAttribute('aria-label', 'Collaborate on this field with Tandem');
    this.control.dataset.tandem = 'collaborate';
    this.control.tabIndex = -1; // never steals Tab order from the page
    this.control.addEventListener('mousedown', (e) => e.preventDefault()); // keep the field focused
    click(this.control, () => this.controlFor && this.actions.collaborate(this.controlFor));
    this.offerButton.className = 'secondary';
    this.offerButton.dataset.tandem = 'bind-offered';
    this.offerButton.tabIndex = -1;
    this.offerButton.addEventListener('mousedown', (e) => e.preventDefault());
    click(this.offerButton, () => this.controlFor && this.offer && this.actions.bindOffered(this.controlFor, this.offer.docId));
    // Never in the body: a frame whose body is the editor (TinyMCE's) would save our UI with its
    // content, and a body can become editable after we are in (a script-made editor frame).
    document.documentElement.append(this.host);
    // Collaborators' carets follow at once when the page scrolls or resizes; the periodic pass
    // (layout changes that fire no event) goes through the overlay's own throttle.
    const reposition = (): void => {
      this.layout();
      this.presence.layout();
    };
    addEventListener('scroll', reposition, true);
    addEventListener('resize', reposition);
    setInterval(() => {
      this.layout();
      this.presence.layoutSoon();
    }, 300);
  }

  /** Shows the control next to a focused field that is not bound. */
  showControl(field: TextField | null): void {
    this.controlFor = field;
    this.layout();
  }

  /** "Bind to a field here": the next focused field also offers this document. */
  setOffer(offer: { docId: string; title: string } | null): void {
    this.offer = offer;
    this.offerButton.textContent = offer ? `Bind to “${offer.title || 'shared document'}”` : '';
    this.layout();
  }

  setStatus(field: TextField, status: FieldStatus): void {
    let badge = this.badges.get(field);
    if (!badge) {
      badge = document.createElement('div');
      badge.className = 'badge';
      badge.dataset.tandem = 'badge';
      badge.setAttribute('role', 'status');
      this.layer.append(badge);
      this.badges.set(field, badge);
    }
    const { text, state } = describe(status);
    badge.textContent = `Tandem · ${text}`;
    badge.dataset.state = state;
    badge.dataset.unsaved = String(status.unsaved);
    this.layout();
  }

  removeBadge(field: TextField): void {
    this.badges.get(field)?.remove();
    this.badges.delete(field);
    this.removePresence(field);
  }

  /** Stops showing collaborators over `target` (it unbound). */
  removePresence(target: PresenceTarget): void {
    this.peerChips.get(target)?.remove();
    this.peerChips.delete(target);
    this.presence.remove(target);
  }

  /** An editor's view scrolled its own way (no DOM scroll event): collaborators' carets follow at the next frame. */
  editorMoved(): void {
    this.presence.layoutNextFrame();
  }

  /**
   * Collaborators in this field's document: carets and selections over it, and who they are
   * above it. `me` (this person's user id) is drawn (their other tab's caret) but not counted.
   * A contenteditable binding passes how its text offsets map to the DOM (`offsetToRange`).
   */
  setPresence(field: PresenceTarget, peers: RemotePeer[], me: string, offsetToRange?: Geometry): void {
    this.presence.set(field, peers, offsetToRange);
    let chip = this.peerChips.get(field);
    if (!chip) {
      chip = document.createElement('div');
      chip.className = 'peers';
      chip.dataset.tandem = 'peers';
      this.layer.append(chip);
      this.peerChips.set(field, chip);
    }
    // One person with two fields bound is one person here.
    const people = new Map<string, RemotePeer>();
    for (const p of peers) if (p.user !== me && (!people.has(p.user) || !p.idle)) people.set(p.user, p);
    const list = [...people.values()];
    chip.hidden = list.length === 0;
    chip.dataset.count = String(list.length);
    chip.title = list.map((p) => `${p.name}${p.idle ? ' (idle)' : ''}`).join('\n');
    chip.setAttribute('aria-label', `Also here: ${list.map((p) => p.name).join(', ')}`);
    chip.replaceChildren(
      ...list.slice(0, 3).map((p) => {
        const dot = document.createElement('i');
        dot.style.background = p.color;
        return dot;
      }),
      `${list.length} other${list.length === 1 ? '' : 's'} here`,
    );
    this.layout();
  }

  /**
   * A short message next to the field (outside it), gone after a few seconds or when dismissed;
   * `link` adds a link (e.g. to sign in).
   */
  notify(field: TextField | null, message: string, link?: { href: string; text: string }): void {
    if (this.notice) this.dismiss(this.notice);
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.dataset.tandem = 'notice';
    notice.setAttribute('role', 'alert');
    const close = document.createElement('button');
    close.className = 'dismiss';
    close.dataset.tandem = 'dismiss';
    close.tabIndex = -1;
    close.textContent = '×';
    close.setAttribute('aria-label', 'Dismiss');
    close.addEventListener('mousedown', (e) => e.preventDefault()); // the field keeps the focus
    click(close, () => this.dismiss(notice));
    notice.append(message);
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = ` ${link.text}`;
      notice.append(a);
    }
    notice.append(close); // last: the notice's text is the message
    this.layer.append(notice);
    this.notice = notice;
    this.noticeFor = field;
    this.layout();
    // Over a field that leaves no room beside it, the notice takes no click: the person's first
    // click or key in the field dismisses it (seen, and in the way).
    const inField = (event: Event): void => {
      if (field && notice.classList.contains('over') && event.composedPath().includes(field)) this.dismiss(notice);
    };
    for (const type of ['pointerdown', 'keydown']) addEventListener(type, inField, { capture: true, passive: true });
    this.noticeCleanup = () => {
      for (const type of ['pointerdown', 'keydown']) removeEventListener(type, inField, { capture: true });
    };
    setTimeout(() => this.dismiss(notice), 10_000);
  }

  private dismiss(notice: HTMLElement): void {
    notice.remove();
    if (this.notice !== notice) return;
    this.noticeCleanup?.();
    this.noticeCleanup = null;
    this.notice = null;
    this.noticeFor = null;
  }

  /**
   * Asks the person to confirm, in our own UI: a page's button may say anything, so a choice
   * that matters (which server receives their text) is confirmed where the page cannot write.
   */
  confirm(message: string, action: string): Promise<boolean> {
    if (this.notice) this.dismiss(this.notice);
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.setAttribute('role', 'alertdialog');
    notice.textContent = message;
    const yes = document.createElement('button');
    yes.textContent = action;
    yes.dataset.tandem = 'confirm';
    yes.style.position = 'static';
    yes.style.marginLeft = '8px';
    const no = document.createElement('button');
    no.textContent = 'Cancel';
    no.className = 'secondary';
    no.style.position = 'static';
    no.style.marginLeft = '4px';
    notice.append(yes, no);
    notice.style.left = '16px';
    notice.style.top = '16px';
    this.layer.append(notice);
    this.notice = notice;
    return new Promise((resolve) => {
      click(yes, () => {
        notice.remove();
        resolve(true);
      });
      click(no, () => {
        notice.remove();
        resolve(false);
      });
    });
  }

  /** Where the fields this page's UI is about are now: nothing of ours may take the pointer over any of them. */
  private fieldBoxes(): Map<TextField, DOMRect> {
    const fields = new Set<TextField>(this.badges.keys());
    for (const f of this.peerChips.keys()) fields.add(f);
    if (this.controlFor) fields.add(this.controlFor);
    if (this.noticeFor) fields.add(this.noticeFor);
    return new Map([...fields].filter((f) => f.isConnected).map((f) => [f, boxOf(f)]));
  }

  private layout(): void {
    const boxes = this.fieldBoxes();
    const all = [...boxes.values()];
    const field = this.controlFor;
    const rect = field && boxes.get(field);
    if (field && rect && !this.badges.has(field)) {
      if (!this.control.isConnected) this.layer.append(this.control);
      // The person's way in: it stays clickable even when the field leaves no room beside it.
      const row = place(this.control, rect, 'right', NO_ROW, all, true);
      if (this.offer) {
        if (!this.offerButton.isConnected) this.layer.append(this.offerButton);
        place(this.offerButton, rect, 'left', row, all, true);
      } else this.offerButton.remove();
    } else {
      this.control.remove();
      this.offerButton.remove();
    }
    const rows = new Map<TextField, Row>();
    for (const [f, badge] of this.badges) {
      const rect = boxes.get(f);
      if (!rect) continue;
      const chip = this.peerChips.get(f);
      // The badge at the field's right, who else is here just left of it, on one row outside the field.
      const row = place(badge, rect, 'right', NO_ROW, all);
      if (chip && !chip.hidden) {
        chip.style.left = `${Math.max(0, row.left - chip.offsetWidth - 4)}px`;
        chip.style.top = badge.style.top;
        chip.classList.toggle('over', overlaps(chip.getBoundingClientRect(), all));
        row.left = Math.max(0, row.left - chip.offsetWidth - 4);
      }
      rows.set(f, row);
    }
    for (const [f, chip] of this.peerChips) {
      const rect = boxes.get(f);
      if (rect && !chip.hidden && !this.badges.has(f)) place(chip, rect, 'right', NO_ROW, all);
    }
    const notice = this.notice;
    if (notice && notice.dataset.tandem === 'notice') {
      const about = this.noticeFor && boxes.get(this.noticeFor);
      if (about) place(notice, about, 'left', rows.get(this.noticeFor!) ?? NO_ROW, all);
      else {
        notice.style.left = '16px';
        notice.style.top = '16px';
        notice.classList.toggle('over', overlaps(notice.getBoundingClientRect(), all));
      }
    }
  }
}

/** What is already placed beside a field: its side, and the horizontal span it takes there. */
interface Row {
  side: 'above' | 'below' | 'over' | null;
  left: number;
  right: number;
  height: number;
}
const NO_ROW: Row = { side: null, left: 0, right: 0, height: 0 };
const GAP = 2;

const intersects = (a: DOMRect, b: DOMRect): boolean => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const overlaps = (box: DOMRect, fields: DOMRect[]): boolean => fields.some((f) => intersects(box, f));

/**
 * Puts `el` outside the field's box: above it, else below it (the side that covers no other of
 * `fields` first), aligned with its left or right edge, past `row` when they would collide.
 * With room on neither side (a field that fills its frame) it goes in the field's bottom
 * corner, where a text is last to reach. Wherever it covers a field it lets the pointer through
 * (class `over`), except a `clickable` element (the control that binds the field: the person's
 * way in). Returns the row it now takes.
 */
function place(el: HTMLElement, field: DOMRect, align: 'left' | 'right', row: Row, fields: DOMRect[], clickable = false): Row {
  const w = el.offsetWidth;
  const h = el.offsetHeight;
  const left = Math.max(0, Math.min(align === 'left' ? field.left : field.right - w, innerWidth - w));
  const collides = row.side !== null && left < row.right && row.left < left + w;
  const past = (side: Row['side']): number => (collides && row.side === side ? row.height + GAP : 0);
  const others = fields.filter((f) => f !== field);
  // Above, else below; a side that would cover another field only when neither is clear.
  const sides = [
    { side: 'above' as const, top: field.top - GAP - past('above') - h },
    { side: 'below' as const, top: field.bottom + GAP + past('below') },
  ].filter((c) => c.top >= 0 && c.top + h <= innerHeight);
  const clear = (c: { top: number }): boolean => !overlaps(new DOMRect(left, c.top, w, h), others);
  const chosen = sides.find(clear) ?? sides[0] ?? { side: 'over' as const, top: Math.max(0, Math.min(field.bottom, innerHeight) - GAP - past('over') - h) };
  el.style.left = `${left}px`;
  el.style.top = `${chosen.top}px`;
  const covering = chosen.side === 'over' || !clear(chosen);
  el.classList.toggle('over', covering && !clickable);
  return { side: chosen.side, left, right: left + w, height: h };
}

/**
 * Where a field is on screen. A frame's body that is the editor (TinyMCE's, a srcdoc editor) is
 * the whole frame to the person, however short its content: its box would put our controls over
 * its first line.
 */
function boxOf(field: TextField): DOMRect {
  if (field !== field.ownerDocument.body) return field.getBoundingClientRect();
  const root = field.ownerDocument.documentElement;
  return new DOMRect(0, 0, root.clientWidth, root.clientHeight);
}

function describe(status: FieldStatus): { text: string; state: string } {
  if (status.problem) return { text: status.problem, state: 'problem' };
  const readOnly = status.permission === 'read' ? ' · view only' : '';
  if (status.connection !== 'live') {
    const kept = status.unsaved === 0 ? 'no unsaved edits' : status.keptLocally ? `${status.unsaved} unsaved, kept on this device` : `${status.unsaved} unsaved`;
    return { text: `${status.connection === 'connecting' ? 'connecting' : 'offline'} · ${kept}${readOnly}`, state: 'offline' };
  }
  return status.unsaved > 0 ? { text: `live · saving…${readOnly}`, state: 'saving' } : { text: `live · saved${readOnly}`, state: 'saved' };
}

/**
 * What Tandem draws on pages: the "Collaborate" control next to a focused field, a status badge
 * on each bound field, and short notices. Everything lives in one shadow root so page styles
 * cannot break it; it never holds a secret (share links go to the clipboard, not the DOM), and
 * every click handler ignores events the page synthesised (`isTrusted`).
 */
import type { RemotePeer } from '../../../shared/presence';
import type { FieldStatus } from '../messages';

/** A bound or bindable field (text control or editing host). */
type TextField = HTMLElement;
import type { OffsetToRange } from './caret-geometry';
import { PRESENCE_STYLE, PresenceOverlay, type PresenceTarget } from './presence-overlay';

const STYLE = `
:host { all: initial; }
.layer { position: fixed; inset: 0; pointer-events: none; z-index: 2147483647; font: 12px/1.3 system-ui, sans-serif; }
button, .badge, .notice { pointer-events: auto; }
button { font: inherit; border: 1px solid #2456c7; background: #2f6fed; color: #fff; border-radius: 4px; padding: 2px 8px; cursor: pointer; position: absolute; }
button.secondary { background: #fff; color: #2456c7; }
.badge { position: absolute; background: #eef3ff; color: #1c3d8c; border: 1px solid #b9cdfa; border-radius: 10px; padding: 1px 7px; white-space: nowrap; }
.badge[data-state="offline"], .badge[data-state="problem"] { background: #fff4e5; color: #8a4b00; border-color: #f5c27a; }
.notice { position: absolute; background: #1f2937; color: #fff; border-radius: 4px; padding: 4px 8px; max-width: 320px; }
.notice a { color: #9cc2ff; }
.peers { position: absolute; pointer-events: auto; background: #fff; color: #1c3d8c; border: 1px solid #b9cdfa; border-radius: 10px; padding: 1px 7px; white-space: nowrap; }
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
    (document.body ?? document.documentElement).append(this.host);
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

  /**
   * Collaborators in this field's document: carets and selections over it, and who they are
   * above it. `me` (this person's user id) is drawn (their other tab's caret) but not counted.
   * A contenteditable binding passes how its text offsets map to the DOM (`offsetToRange`).
   */
  setPresence(field: PresenceTarget, peers: RemotePeer[], me: string, offsetToRange?: OffsetToRange): void {
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

  /** A short message near the field; `link` adds a link (e.g. to sign in). */
  notify(field: TextField | null, message: string, link?: { href: string; text: string }): void {
    this.notice?.remove();
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.dataset.tandem = 'notice';
    notice.setAttribute('role', 'alert');
    notice.textContent = message;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = ` ${link.text}`;
      notice.append(a);
    }
    this.layer.append(notice);
    this.notice = notice;
    const rect = (field ?? document.documentElement).getBoundingClientRect();
    notice.style.left = `${Math.max(4, rect.left)}px`;
    notice.style.top = `${Math.max(4, rect.top - 30)}px`;
    setTimeout(() => notice.remove(), 6_000);
  }

  /**
   * Asks the person to confirm, in our own UI: a page's button may say anything, so a choice
   * that matters (which server receives their text) is confirmed where the page cannot write.
   */
  confirm(message: string, action: string): Promise<boolean> {
    this.notice?.remove();
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

  private layout(): void {
    const field = this.controlFor;
    if (field && field.isConnected && !this.badges.has(field)) {
      const rect = field.getBoundingClientRect();
      if (!this.control.isConnected) this.layer.append(this.control);
      this.control.style.left = `${rect.right - 92}px`;
      this.control.style.top = `${rect.top + 2}px`;
      if (this.offer) {
        if (!this.offerButton.isConnected) this.layer.append(this.offerButton);
        this.offerButton.style.left = `${rect.left}px`;
        this.offerButton.style.top = `${rect.bottom + 2}px`;
      } else this.offerButton.remove();
    } else {
      this.control.remove();
      this.offerButton.remove();
    }
    for (const [f, badge] of this.badges) {
      if (!f.isConnected) continue;
      const rect = f.getBoundingClientRect();
      badge.style.left = `${rect.right - badge.offsetWidth - 4}px`;
      badge.style.top = `${rect.bottom - badge.offsetHeight - 4}px`;
    }
    for (const [f, chip] of this.peerChips) {
      if (!f.isConnected || chip.hidden) continue;
      // Above the field's top-right corner, outside it: over the field it would take clicks meant for the text.
      const rect = f.getBoundingClientRect();
      chip.style.left = `${Math.max(0, rect.right - chip.offsetWidth)}px`;
      chip.style.top = `${Math.max(0, rect.top - chip.offsetHeight - 2)}px`;
    }
  }
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

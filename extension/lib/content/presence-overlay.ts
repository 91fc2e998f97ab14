/**
 * Collaborators drawn over a field: a caret with a name label and translucent selection
 * rectangles per person, in their colour, dimmed when they are idle. It draws into a layer of
 * our shadow root (page CSS does not reach it) and is laid out again whenever the field scrolls,
 * resizes or the page moves it. Elements carry data attributes (data-peer, data-offset…) that
 * tests and tools can read.
 */
import type { RemotePeer } from '../../../shared/presence';
import { FieldMirror, clientBox, rangeRects, textNodeOffsetToRange, type Box, type OffsetToRange } from './caret-geometry';
import type { TextField } from './field-binding';

export type PresenceTarget = TextField | HTMLElement;

/** Where a contenteditable's text offsets are: as DOM ranges, or (an editor adapter's own geometry) as boxes. */
export type Geometry = OffsetToRange | { boxes(start: number, end: number): Box[] };

export const PRESENCE_STYLE = `
.presence { position: fixed; inset: 0; pointer-events: none; }
.presence .caret { position: absolute; width: 2px; margin-left: -1px; }
.presence .caret .label { position: absolute; left: -1px; bottom: 100%; font: 11px/1.4 system-ui, sans-serif; color: #fff; padding: 0 4px; border-radius: 3px 3px 3px 0; white-space: nowrap; }
.presence .sel { position: absolute; opacity: 0.25; }
.presence [data-idle="true"] { opacity: 0.35; }
.presence .sel[data-idle="true"] { opacity: 0.1; }
`;

interface Drawn {
  container: HTMLElement;
  peers: RemotePeer[];
  offsetToRange: Geometry;
  resize: ResizeObserver;
  scroll: () => void;
  /** What was drawn last: the DOM is rebuilt only when this changes (layout runs often). */
  signature: string;
}

/** One element to draw. */
interface Mark {
  kind: 'sel' | 'caret';
  peer: RemotePeer;
  box: Box;
  start: number;
  end: number;
}

const isTextField = (el: PresenceTarget): el is TextField => el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement;

export class PresenceOverlay {
  private readonly drawn = new Map<PresenceTarget, Drawn>();
  private readonly mirror: FieldMirror;

  /** `layer`: an element in our shadow root, covering the viewport (position: fixed; inset: 0). */
  constructor(private readonly layer: HTMLElement) {
    this.mirror = new FieldMirror(layer);
  }

  /** An overlay of its own (pages without PageUi, like the server's editor): a shadow root on the body. */
  static standalone(): PresenceOverlay {
    const host = document.createElement('div');
    host.setAttribute('data-tandem-presence-ui', '');
    const root = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = `:host { all: initial; } .layer { position: fixed; inset: 0; pointer-events: none; z-index: 2147483647; }${PRESENCE_STYLE}`;
    const layer = document.createElement('div');
    layer.className = 'layer';
    root.append(style, layer);
    document.body.append(host);
    const overlay = new PresenceOverlay(layer);
    const relayout = (): void => overlay.layout();
    addEventListener('scroll', relayout, true);
    addEventListener('resize', relayout);
    return overlay;
  }

  /**
   * Shows `peers` over `target` (replacing what was shown). Offsets are in the target's text;
   * for a contenteditable, `offsetToRange` says where they are (default: text nodes in order).
   */
  set(target: PresenceTarget, peers: RemotePeer[], offsetToRange: Geometry = textNodeOffsetToRange): void {
    let drawn = this.drawn.get(target);
    if (!drawn) {
      const container = document.createElement('div');
      container.className = 'presence';
      container.dataset.tandem = 'presence';
      this.layer.append(container);
      const resize = new ResizeObserver(() => this.layout());
      resize.observe(target);
      const scroll = (): void => this.layout();
      target.addEventListener('scroll', scroll);
      drawn = { container, peers, offsetToRange, resize, scroll, signature: '' };
      this.drawn.set(target, drawn);
    }
    drawn.peers = peers;
    drawn.offsetToRange = offsetToRange;
    this.drawSoon();
  }

  private drawTimer: ReturnType<typeof setTimeout> | null = null;
  /** How long the last layout took: the next waits at least eight times that. */
  private lastCost = 0;

  /**
   * Updates arrive with every change to the document (each keystroke of anyone), and measuring
   * a long text is the costly part: it happens at most every 30 ms, and never takes more than
   * about a ninth of the page's time (a 50 KB textarea takes milliseconds to lay out).
   */
  /** A layout soon, within the throttle (for periodic checks). */
  layoutSoon(): void {
    this.drawSoon();
  }

  private drawSoon(): void {
    this.drawTimer ??= setTimeout(
      () => {
        this.drawTimer = null;
        this.layout();
      },
      Math.max(30, 8 * this.lastCost),
    );
  }

  private frame: number | null = null;

  /** A layout at the next animation frame: an editor's own viewport moved (many times a frame while it scrolls smoothly). */
  layoutNextFrame(): void {
    this.frame ??= requestAnimationFrame(() => {
      this.frame = null;
      this.layout();
    });
  }

  /** Stops drawing over `target`. */
  remove(target: PresenceTarget): void {
    const drawn = this.drawn.get(target);
    if (!drawn) return;
    drawn.resize.disconnect();
    target.removeEventListener('scroll', drawn.scroll);
    drawn.container.remove();
    this.drawn.delete(target);
  }

  /** Lays everything out again (the page scrolled, resized, or a field's text changed). */
  layout(): void {
    const start = performance.now();
    for (const [target, drawn] of this.drawn) this.draw(target, drawn);
    this.lastCost = performance.now() - start;
  }

  private rects(target: PresenceTarget, drawn: Drawn, start: number, end: number): Box[] {
    if (isTextField(target)) return this.mirror.rects(target, start, end);
    if (typeof drawn.offsetToRange !== 'function') return drawn.offsetToRange.boxes(start, end);
    const range = drawn.offsetToRange(target, start, end);
    return range ? rangeRects(range) : [];
  }

  private draw(target: PresenceTarget, drawn: Drawn): void {
    const marks = target.isConnected ? this.marks(target, drawn) : [];
    const signature = JSON.stringify(marks);
    if (signature === drawn.signature) return;
    drawn.signature = signature;
    const { container } = drawn;
    container.replaceChildren();
    for (const { kind, peer, box, start, end } of marks) {
      const el = document.createElement('div');
      el.className = kind;
      el.style.background = peer.color;
      place(el, box);
      if (kind === 'sel') {
        Object.assign(el.dataset, { peer: peer.id, start: String(start), end: String(end), idle: String(peer.idle) });
      } else {
        Object.assign(el.dataset, { peer: peer.id, offset: String(end), name: peer.name, color: peer.color, idle: String(peer.idle) });
        const label = document.createElement('div');
        label.className = 'label';
        label.textContent = peer.name;
        label.style.background = peer.color;
        el.append(label);
      }
      container.append(el);
    }
  }

  /** Where every collaborator's selection and caret are over `target` now, clipped to its visible text. */
  private marks(target: PresenceTarget, drawn: Drawn): Mark[] {
    const out: Mark[] = [];
    const clip = clientBox(target);
    const length = isTextField(target) ? target.value.length : Number.POSITIVE_INFINITY;
    for (const peer of drawn.peers) {
      if (peer.anchor === null || peer.head === null) continue; // here, but no caret in this text
      const head = Math.min(peer.head, length);
      const anchor = Math.min(peer.anchor, length);
      const start = Math.min(anchor, head);
      const end = Math.max(anchor, head);
      if (end > start) {
        for (const r of this.rects(target, drawn, start, end)) {
          const box = intersect(r, clip);
          if (box) out.push({ kind: 'sel', peer, box, start, end });
        }
      }
      const c = this.rects(target, drawn, head, head)[0];
      if (!c) continue;
      // Hidden when scrolled out of the field (a caret beside the field would point at nothing).
      if (c.left < clip.left - 1 || c.left > clip.left + clip.width + 1 || c.top + c.height <= clip.top || c.top >= clip.top + clip.height) continue;
      out.push({ kind: 'caret', peer, box: { left: c.left, top: c.top, width: 2, height: c.height }, start: head, end: head });
    }
    return out;
  }
}

function place(el: HTMLElement, box: Box): void {
  el.style.left = `${box.left}px`;
  el.style.top = `${box.top}px`;
  el.style.width = `${box.width}px`;
  el.style.height = `${box.height}px`;
}

function intersect(a: Box, b: Box): Box | null {
  const left = Math.max(a.left, b.left);
  const top = Math.max(a.top, b.top);
  const right = Math.min(a.left + a.width, b.left + b.width);
  const bottom = Math.min(a.top + a.height, b.top + b.height);
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : null;
}

/**
 * Where a bound field lives, as the extension remembers it between visits: the top-level page's
 * address (its origin included), the frame's origin, the frame's own address and its position
 * among the frames from the top, and (beside this) the field's locator. A frame's address alone
 * names nothing: every srcdoc frame on every site is `about:srcdoc`, every script-filled frame
 * `about:blank`. Such frames have their creator's origin, and that origin is what counts here.
 * A place whose page or frame origin is not a web origin (opaque, file:, a browser page) is never
 * remembered, so nothing is ever restored there.
 */

export interface Place {
  /** The top-level page's address without #fragment. */
  top: string;
  /** The frame's origin: its address's for http(s) frames, its creator's for about:blank and about:srcdoc. */
  origin: string;
  /** The frame's address without #fragment. */
  frame: string;
  /** The frame's index among its parent's frames at each level from the top page down, '/'-joined ('' for the top frame). */
  path: string;
}

/** What a frame's binding code says about itself when it connects; the browser says the rest. */
export interface FrameReport {
  /** `self.origin`: the origin about:blank and about:srcdoc frames inherit. */
  origin: string;
  path: string;
}

/** A page's address as bindings remember it: without the #fragment. */
export function pageKey(url: string): string {
  const i = url.indexOf('#');
  return i < 0 ? url : url.slice(0, i);
}

const WEB_URL = /^https?:\/\//i;
const INHERITING = new Set(['about:blank', 'about:srcdoc']);
const PATH = /^(\d{1,4}(\/\d{1,4}){0,15})?$/;

/** The origin of an http(s) address, else null. */
function webOriginOf(url: string): string | null {
  if (!WEB_URL.test(url)) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** True for a serialised http(s) origin (no path, no opaque "null"). */
const isWebOrigin = (origin: unknown): origin is string => typeof origin === 'string' && webOriginOf(origin) === origin;

/** This frame's position among frames, from the top page down (run in the frame). */
export function framePath(): string {
  const path: number[] = [];
  try {
    for (let w: Window = window; w !== w.parent; w = w.parent) {
      const siblings = w.parent.frames;
      let i = 0;
      while (i < siblings.length && siblings[i] !== w) i++;
      path.unshift(i);
    }
  } catch {
    return 'unknown'; // an ancestor the browser would not let us count in: never matches a place
  }
  return path.join('/');
}

/**
 * The place of the frame a port comes from. The browser's word wins: the tab's address, the
 * frame's address, and (Chromium) the frame's origin. The frame's report fills in only what
 * the browser does not say: its position, and (Firefox) an about: frame's inherited origin.
 */
export function placeOfSender(sender: { url?: string; origin?: string; frameId?: number; tab?: { url?: string } }, report: FrameReport): Place | null {
  const frame = pageKey(sender.url ?? '');
  const top = pageKey(sender.tab?.url ?? '');
  const topOrigin = webOriginOf(top);
  if (!topOrigin) return null;
  if (sender.frameId === 0) return frame === top ? { top, origin: topOrigin, frame, path: '' } : null;
  if (!PATH.test(report.path) || report.path === '') return null;
  const origin = webOriginOf(frame) ?? (INHERITING.has(frame) ? (sender.origin ?? report.origin) : null);
  return isWebOrigin(origin) ? { top, origin, frame, path: report.path } : null;
}

/**
 * The place a shared document was written in, from what its creator's browser stored on the
 * server (`originUrl`, and the locator as `originField`): the person chose to open it there.
 * Null when that does not name a place a frame could prove it is in.
 */
export function placeOfOrigin(originUrl: string | null, locator: { frame: string; origin?: string; path?: string } | null): Place | null {
  if (!originUrl || !locator) return null;
  const top = pageKey(originUrl);
  const topOrigin = webOriginOf(top);
  if (!topOrigin) return null;
  const path = locator.path ?? (locator.frame === top ? '' : null);
  if (path === null || !PATH.test(path)) return null;
  if (path === '') return locator.frame === top ? { top, origin: topOrigin, frame: top, path } : null;
  const origin = webOriginOf(locator.frame) ?? (INHERITING.has(locator.frame) ? (locator.origin ?? null) : null);
  return isWebOrigin(origin) ? { top, origin, frame: locator.frame, path } : null;
}

export const samePlace = (a: Place, b: Place): boolean => a.top === b.top && a.origin === b.origin && a.frame === b.frame && a.path === b.path;

/**
 * What the detector of a frame compares with the bound places to load the binding code at once
 * (a hint only: the background decides what is restored, from the whole place).
 */
export const frameHint = (origin: string, frame: string): string => (WEB_URL.test(frame) ? frame : `${origin} ${frame}`);

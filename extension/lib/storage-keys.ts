/**
 * What the extension keeps in `storage.local` that more than one of its parts reads: the
 * server's address and the frames that hold bound fields (content scripts read them directly, so
 * a page load never wakes the background).
 */

/** Storage keys the content scripts read directly (no background wake-up on page load). */
export const STORAGE = {
  serverUrl: 'serverUrl',
  /** Frames (`frameHint`s) that hold bound fields: bindings load there at once. */
  boundPages: 'boundPages',
} as const;

export const DEFAULT_SERVER_URL = 'http://localhost:8787';

/** The server URL from what `storage.local.get(STORAGE.serverUrl)` returned (the default when unset). */
export function storedServerUrl(stored: Record<string, unknown>): string {
  const value = stored[STORAGE.serverUrl];
  return typeof value === 'string' ? value : DEFAULT_SERVER_URL;
}

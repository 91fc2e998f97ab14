/**
 * What a collaborator's presence entry holds, and how positions in it survive concurrent edits:
 * carets and selections travel as Loro cursors (`LoroText.getCursor(pos).encode()`), which name
 * a character rather than an offset, and each receiver resolves them against its own copy of
 * the document whenever that copy changes. Entries come from other people: `parsePeerState`
 * checks every one before it is used.
 *
 * Who an entry belongs to is not the client's to say: the server stamps `user` and `name` on
 * every entry from the socket's account (or `anon:<id>` for a share-link socket without one),
 * replacing anything the client put there, and namespaces keys per socket, so no one can
 * publish as someone else or touch their entries (server/sync/presence-room.ts).
 */
import { Cursor, type LoroDoc, type LoroText } from 'loro-crdt';

/** One presence entry (one bound field of one person) as others receive it from the %EPH room. */
export interface PeerState {
  /** Who, stamped by the server: an account id, or `anon:<random>` for someone in through a share link. */
  user: string;
  /** How to call them, stamped by the server: the account's display name, or "Anonymous <short id>". */
  name: string;
  /** Encoded Loro cursors of the selection's anchor and head; null while they have no caret here. */
  anchor: Uint8Array | null;
  head: Uint8Array | null;
  /** No caret movement or typing for a while (see IDLE_AFTER_MS). */
  idle: boolean;
}

/** A collaborator as a field draws them: plain offsets into the text it holds now. */
export interface RemotePeer {
  /** The presence key (one per bound field). */
  id: string;
  user: string;
  name: string;
  color: string;
  /** UTF-16 offsets; null when they have no caret in the text. */
  anchor: number | null;
  head: number | null;
  idle: boolean;
}

/** Without caret movement or typing for this long, a collaborator is shown dimmed. */
export const IDLE_AFTER_MS = 60_000;

const MAX_NAME = 80;
const MAX_CURSOR_BYTES = 256;

/** What a client publishes about one of its fields: the server adds who it is. */
export type OwnPeerState = Pick<PeerState, 'anchor' | 'head' | 'idle'>;

/** The entry's value as an EphemeralStore value (Loro values: no undefined). */
export function peerStateValue(state: OwnPeerState): Record<string, boolean | Uint8Array | null> {
  return { anchor: state.anchor, head: state.head, idle: state.idle };
}

/** A presence entry from the network, or null when it is not one (a foreign client, a bad actor). */
export function parsePeerState(value: unknown): PeerState | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const cursor = (c: unknown): c is Uint8Array | null => c === null || (c instanceof Uint8Array && c.length <= MAX_CURSOR_BYTES);
  if (typeof v.user !== 'string' || v.user.length > 200 || typeof v.name !== 'string' || typeof v.idle !== 'boolean') return null;
  if (!cursor(v.anchor) || !cursor(v.head)) return null;
  return { user: v.user, name: v.name.slice(0, MAX_NAME), anchor: v.anchor, head: v.head, idle: v.idle };
}

/** The selection `anchor`…`head` (UTF-16 offsets) as Loro cursors. */
export function encodeSelection(text: LoroText, anchor: number, head: number): { anchor: Uint8Array | null; head: Uint8Array | null } {
  const length = text.length;
  const at = (pos: number): Uint8Array | null => text.getCursor(Math.max(0, Math.min(pos, length)))?.encode() ?? null;
  const a = at(anchor);
  return { anchor: a, head: head === anchor ? a : at(head) };
}

/** Where a cursor is in `doc` now; null when `doc` does not have the character it names yet. */
export function resolveCursor(doc: LoroDoc, bytes: Uint8Array | null): number | null {
  if (bytes === null) return null;
  try {
    return doc.getCursorPos(Cursor.decode(bytes))?.offset ?? null;
  } catch {
    return null; // made on an edit not yet imported here: shown once it arrives
  }
}

/** A collaborator with positions resolved against `doc`. */
export function resolvePeer(doc: LoroDoc, id: string, state: PeerState): RemotePeer {
  const anchor = resolveCursor(doc, state.anchor);
  const head = state.head === state.anchor ? anchor : resolveCursor(doc, state.head);
  const both = anchor !== null && head !== null;
  return { id, user: state.user, name: state.name, color: colorFor(state.user), anchor: both ? anchor : null, head: both ? head : null, idle: state.idle };
}

/** A stable colour for a user id: the same person has the same colour on every screen. */
export function colorFor(userId: string): string {
  // FNV-1a, then a hue; saturation and lightness fixed so every colour reads on white.
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const hue = (h >>> 0) % 360;
  return hslToHex(hue, 0.7, 0.42);
}

function hslToHex(h: number, s: number, l: number): string {
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (x: number): string =>
    Math.round(x * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

/** The display name of someone without an account: "Anonymous" and a short id. */
export function anonymousName(anonId: string): string {
  return `Anonymous ${anonId.slice(0, 4)}`;
}

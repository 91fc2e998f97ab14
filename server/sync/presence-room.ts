/**
 * A presence room (%EPH): relays ephemeral state (cursors, names) among the sockets of one
 * document and keeps the latest state in memory so a newcomer sees everyone at once. Nothing
 * here is stored.
 *
 * What a socket publishes is its own and says who it is:
 * - keys are namespaced by the server: a socket's key `k` is `<its tag>/k` in the room, so it
 *   can neither overwrite nor delete another socket's entries, here or on another node;
 * - identity is stamped by the server: every entry is a map whose `user` and `name` are the
 *   socket's account (id, display name) or, for a share-link socket without one,
 *   `anon:<tag>` and "Anonymous <tag>"; whatever the client put there is replaced (a value
 *   that is not a map is kept under `value`);
 * - entries are bounded: size per entry, entries per socket, entries a second (the socket's
 *   budget). A batch over a bound is refused whole, named (`PresenceRefusal`); nothing of it
 *   is kept or relayed, and the room goes on serving everyone else.
 * The server writes each entry it keeps (presence-entries.ts) with its own timestamp, strictly
 * increasing in the room, so a change is never lost to one made in the same millisecond.
 *
 * When a socket leaves (or closes) its entries are deleted at once and everyone is told,
 * instead of lingering until they expire.
 */
import { EphemeralStore } from 'loro-crdt';
import { PresenceRefusal } from '../../shared/protocol/index';
import { encodePresenceEntry, readPresenceEntries, type PresenceEntry } from './presence-entries';
import { Relay } from './relay';
import type { RoomMember } from './room-member';
import type { TokenBucket } from './token-bucket';

/** Entries not refreshed for this long are dropped (clients refresh while they are present). */
const PRESENCE_TIMEOUT_MS = 60_000;

/** Who a socket is in presence, as the server established it. */
export interface PresenceAuthor {
  /** Unique per socket (random): the namespace of its keys. */
  tag: string;
  /** An account id, or `anon:<tag>`. */
  user: string;
  /** The account's display name, or "Anonymous <tag>". */
  name: string;
}

export interface PresenceLimits {
  /** Bytes one entry may take on the wire (key, value, timestamp). */
  maxEntryBytes: number;
  /** Entries one socket may hold in one room. */
  maxEntriesPerSocket: number;
}

export type PresenceSubmit = { kind: 'accepted' } | { kind: 'refused'; reason: PresenceRefusal; detail: string };

interface Publisher {
  author: PresenceAuthor;
  /** The client's keys it holds here now (not namespaced). */
  keys: Set<string>;
}

export class PresenceRoom {
  private readonly store = new EphemeralStore(PRESENCE_TIMEOUT_MS);
  private readonly members = new Map<RoomMember, Publisher>();
  /** The last timestamp the room wrote: the next is later, whatever the clock says. */
  private clock = 0;

  /** `onLocal` hears what this node's sockets published (as the room re-encoded it), for other nodes. */
  constructor(
    readonly docId: string,
    private readonly limits: PresenceLimits,
    private readonly onLocal: (updates: readonly Uint8Array[]) => void = () => {},
  ) {}

  get memberCount(): number {
    return this.members.size;
  }

  /** Adds a member; returns the current state to send it (empty when there is none). */
  join(member: RoomMember, author: PresenceAuthor): Uint8Array[] {
    this.leave(member); // a rejoin starts clean
    this.members.set(member, { author, keys: new Set() });
    return this.store.keys().length > 0 ? [this.store.encodeAll()] : [];
  }

  /** Removes a member and deletes the entries it wrote, telling the others (here and on other nodes). */
  leave(member: RoomMember): void {
    const publisher = this.members.get(member);
    if (!publisher) return;
    this.members.delete(member);
    const removals: Uint8Array[] = [];
    for (const key of publisher.keys) {
      const own = `${publisher.author.tag}/${key}`;
      if (this.store.get(own) === undefined) continue; // expired meanwhile
      removals.push(this.write(own, undefined, publisher.author));
    }
    if (removals.length === 0) return;
    const relay = new Relay('presence', this.docId, removals);
    for (const m of this.members.keys()) m.deliver(relay);
    this.onLocal(removals);
  }

  /**
   * A batch from a member: taken whole (namespaced, stamped, relayed) or refused whole.
   * `budget` is the socket's: one token per entry.
   */
  submit(from: RoomMember, updates: readonly Uint8Array[], budget: TokenBucket): PresenceSubmit {
    const publisher = this.members.get(from);
    if (!publisher) throw new Error('presence from a socket that is not in the room');
    const entries: PresenceEntry[] = [];
    for (const update of updates) {
      const read = readPresenceEntries(update, this.limits);
      if (!read.ok) {
        return { kind: 'refused', reason: read.reason === 'too_large' ? PresenceRefusal.TooLarge : PresenceRefusal.Malformed, detail: read.detail };
      }
      entries.push(...read.entries);
    }
    const keys = new Set(publisher.keys);
    for (const e of entries) {
      if (e.value === undefined) keys.delete(e.key);
      else keys.add(e.key);
    }
    if (keys.size > this.limits.maxEntriesPerSocket) {
      return { kind: 'refused', reason: PresenceRefusal.TooManyEntries, detail: `${keys.size} entries (at most ${this.limits.maxEntriesPerSocket})` };
    }
    if (!budget.take(entries.length)) {
      return { kind: 'refused', reason: PresenceRefusal.RateLimited, detail: `${entries.length} entries over the socket's rate` };
    }

    // The last word on each key (a batch may set and delete one key several times).
    const last = new Map<string, Uint8Array | undefined>();
    for (const { key, value } of entries) {
      last.delete(key);
      last.set(key, value);
    }
    const relayed: Uint8Array[] = [];
    for (const [key, value] of last) {
      // Deleting what it does not hold: nothing to tell anyone.
      if (value === undefined && !publisher.keys.has(key)) continue;
      relayed.push(this.write(`${publisher.author.tag}/${key}`, value, publisher.author));
    }
    publisher.keys = keys;
    if (relayed.length > 0) {
      const relay = new Relay('presence', this.docId, relayed);
      for (const member of this.members.keys()) if (member !== from) member.deliver(relay);
      this.onLocal(relayed);
    }
    return { kind: 'accepted' };
  }

  /** Keeps an entry (stamped; a deletion when `value` is undefined) and returns the update that says so. */
  private write(key: string, value: Uint8Array | undefined, author: PresenceAuthor): Uint8Array {
    this.clock = Math.max(Date.now(), this.clock + 1);
    const update = encodePresenceEntry(key, value, author, this.clock);
    this.store.apply(update);
    return update;
  }

  /** Presence from another node (namespaced and stamped there): kept for newcomers and relayed to everyone here. */
  applyRemote(updates: readonly Uint8Array[]): void {
    const valid: Uint8Array[] = [];
    for (const update of updates) {
      try {
        this.store.apply(update);
        valid.push(update);
      } catch {
        // Another node already validated it; a failure here is a version mismatch, ignore.
      }
    }
    if (valid.length === 0) return;
    const relay = new Relay('presence', this.docId, valid);
    for (const member of this.members.keys()) member.deliver(relay);
  }

  /** Removes every member (they are told by the caller) and frees the store. */
  close(): void {
    this.members.clear();
    this.store.destroy();
  }
}

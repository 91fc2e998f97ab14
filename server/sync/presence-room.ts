/**
 * A presence room (%EPH): relays ephemeral state (cursors, names) among the sockets of one
 * document and keeps the latest state in memory so a newcomer sees everyone at once. Nothing
 * here is stored.
 *
 * It remembers which keys each socket wrote, so that when the socket leaves (or closes) its
 * entries are deleted at once and everyone is told, instead of lingering until they expire.
 */
import { EphemeralStore } from 'loro-crdt';
import { Relay, type RoomMember } from './member';

/** Entries not refreshed for this long are dropped (clients refresh while they are present). */
const PRESENCE_TIMEOUT_MS = 60_000;

export type PresenceSubmit = { kind: 'accepted' } | { kind: 'invalid'; reason: string };

export class PresenceRoom {
  private readonly store = new EphemeralStore(PRESENCE_TIMEOUT_MS);
  private readonly members = new Set<RoomMember>();
  /** The keys each member wrote last (set or updated, not deleted since). */
  private readonly keysOf = new Map<RoomMember, Set<string>>();

  /** `onLocal` hears the valid updates of this node's sockets (to send to other nodes). */
  constructor(
    readonly docId: string,
    private readonly onLocal: (updates: readonly Uint8Array[]) => void = () => {},
  ) {}

  get memberCount(): number {
    return this.members.size;
  }

  /** Adds a member; returns the current state to send it (empty when there is none). */
  join(member: RoomMember): Uint8Array[] {
    this.members.add(member);
    return this.store.keys().length > 0 ? [this.store.encodeAll()] : [];
  }

  /** Removes a member and deletes the entries it wrote, telling the others (here and on other nodes). */
  leave(member: RoomMember): void {
    this.members.delete(member);
    const keys = this.keysOf.get(member);
    this.keysOf.delete(member);
    if (!keys || keys.size === 0) return;
    const removals: Uint8Array[] = [];
    for (const key of keys) {
      if (this.store.get(key) === undefined) continue; // expired or deleted meanwhile
      this.store.delete(key);
      removals.push(this.store.encode(key));
    }
    if (removals.length === 0) return;
    const relay = new Relay('presence', this.docId, removals);
    for (const m of this.members) m.deliver(relay);
    this.onLocal(removals);
  }

  submit(from: RoomMember, updates: readonly Uint8Array[]): PresenceSubmit {
    const valid: Uint8Array[] = [];
    let invalid: string | null = null;
    let keys = this.keysOf.get(from);
    if (!keys) this.keysOf.set(from, (keys = new Set()));
    const mine = keys;
    // Store events are synchronous: they name the keys this member's updates touched.
    const off = this.store.subscribe((event) => {
      if (event.by !== 'import') return;
      for (const k of event.added) mine.add(k);
      for (const k of event.updated) mine.add(k);
      for (const k of event.removed) mine.delete(k);
    });
    for (const update of updates) {
      try {
        this.store.apply(update);
        valid.push(update);
      } catch (error) {
        invalid = error instanceof Error ? error.message : String(error);
      }
    }
    off();
    if (valid.length > 0) {
      const relay = new Relay('presence', this.docId, valid);
      for (const member of this.members) if (member !== from) member.deliver(relay);
      this.onLocal(valid);
    }
    return invalid === null ? { kind: 'accepted' } : { kind: 'invalid', reason: invalid };
  }

  /** Presence from another node: kept (for newcomers) and relayed to everyone here. */
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
    for (const member of this.members) member.deliver(relay);
  }

  /** Removes every member (they are told by the caller) and frees the store. */
  close(): void {
    this.members.clear();
    this.keysOf.clear();
    this.store.destroy();
  }
}

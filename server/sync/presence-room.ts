/**
 * A presence room (%EPH): relays ephemeral state (cursors, names) among the sockets of one
 * document and keeps the latest state in memory so a newcomer sees everyone at once. Nothing
 * here is stored.
 */
import { EphemeralStore } from 'loro-crdt';
import type { RoomMember } from './member';

/** Entries not refreshed for this long are dropped (clients refresh while they are present). */
const PRESENCE_TIMEOUT_MS = 60_000;

export type PresenceSubmit = { kind: 'accepted' } | { kind: 'invalid'; reason: string };

export class PresenceRoom {
  private readonly store = new EphemeralStore(PRESENCE_TIMEOUT_MS);
  private readonly members = new Set<RoomMember>();

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

  leave(member: RoomMember): void {
    this.members.delete(member);
  }

  submit(from: RoomMember, updates: readonly Uint8Array[]): PresenceSubmit {
    const valid: Uint8Array[] = [];
    let invalid: string | null = null;
    for (const update of updates) {
      try {
        this.store.apply(update);
        valid.push(update);
      } catch (error) {
        invalid = error instanceof Error ? error.message : String(error);
      }
    }
    if (valid.length > 0) {
      for (const member of this.members) if (member !== from) member.deliver('presence', this.docId, valid);
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
    if (valid.length > 0) for (const member of this.members) member.deliver('presence', this.docId, valid);
  }

  /** Removes every member (they are told by the caller) and frees the store. */
  close(): void {
    this.members.clear();
    this.store.destroy();
  }
}

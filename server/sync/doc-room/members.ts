/**
 * The sockets in one document room and the relay to them. A relay is framed once for every
 * member (see `Relay`).
 *
 * Late joiners: members answered from stored bytes after another node's edits reached this
 * room ahead of their commit (see `OtherNodeEdits.offerEdits`). Their answer may lack those
 * edits, so committed entries that bring this room nothing new still go to them; to the other
 * members they would be duplicates.
 */
import type { RoomErrorCode } from '../../../shared/protocol/index';
import { Relay } from '../relay';
import type { RoomMember } from '../room-member';

export class RoomMembers {
  private readonly all = new Set<RoomMember>();
  private readonly late = new Set<RoomMember>();

  constructor(
    private readonly docId: string,
    /** Counts what was relayed: `updates` to `sockets` members (metrics). */
    private readonly onRelayed?: (updates: number, sockets: number) => void,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Adds a member; `late` when its join answer may lack edits other nodes have not stored yet. */
  add(member: RoomMember, late: boolean): void {
    this.all.add(member);
    if (late) this.late.add(member);
  }

  delete(member: RoomMember): void {
    this.all.delete(member);
    this.late.delete(member);
  }

  /** Sends updates to every member but `except` (framed once for all). */
  relay(updates: readonly Uint8Array[], except?: RoomMember): void {
    // Sent first: `onRelayed?.(…)` would not evaluate its arguments without a listener.
    const sockets = relayTo(this.all, this.docId, updates, except);
    this.onRelayed?.(updates.length, sockets);
  }

  /** Sends updates that bring the room nothing new to the late joiners only. */
  relayToLateJoiners(updates: readonly Uint8Array[]): void {
    const sockets = relayTo(this.late, this.docId, updates);
    this.onRelayed?.(updates.length, sockets);
  }

  /** Removes every member, telling each why with a RoomError. */
  evictAll(code: RoomErrorCode, message: string): void {
    for (const member of [...this.all]) member.evict('doc', this.docId, code, message);
    this.clear();
  }

  clear(): void {
    this.all.clear();
    this.late.clear();
  }
}

/** Sends `updates` to `members` but `except`; returns how many it went to. */
function relayTo(members: ReadonlySet<RoomMember>, docId: string, updates: readonly Uint8Array[], except?: RoomMember): number {
  if (members.size === 0) return 0;
  const relay = new Relay('doc', docId, updates);
  let sent = 0;
  for (const member of members) {
    if (member === except) continue;
    member.deliver(relay);
    sent += 1;
  }
  return sent;
}

import type { RoomErrorCode } from '../../shared/protocol/index';

/** What a room needs from a socket that joined it. Rooms never see the transport. */
export interface RoomMember {
  /** Unique per connection, for logs. */
  readonly connectionId: number;
  /** Sends updates of this room to the member (the member frames them). */
  deliver(roomKind: 'doc' | 'presence', docId: string, updates: readonly Uint8Array[]): void;
  /** Removes the member from the room, telling it why with a RoomError. */
  evict(roomKind: 'doc' | 'presence', docId: string, code: RoomErrorCode, message: string): void;
}

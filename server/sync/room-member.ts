import type { RoomErrorCode } from '../../shared/protocol/index';
import type { Relay } from './relay';

/** What a room needs from a socket that joined it. Rooms never see the transport. */
export interface RoomMember {
  /** Unique per connection, for logs. */
  readonly connectionId: number;
  /** Sends updates of a room to the member. */
  deliver(relay: Relay): void;
  /** Removes the member from the room, telling it why with a RoomError. */
  evict(roomKind: 'doc' | 'presence', docId: string, code: RoomErrorCode, message: string): void;
}

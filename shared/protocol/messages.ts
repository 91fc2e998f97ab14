/**
 * loro-protocol v1 message types (spec: `protocol.md` in loro-dev/protocol).
 *
 * This is the only definition of the wire vocabulary in the project: the server, the
 * extension and the tests all import it from here. Numbers and magic strings must match the
 * spec byte for byte, so that the official `loro-websocket` client can talk to Tandem
 * unchanged; `test/unit/protocol-golden.test.ts` pins them.
 */

/** The protocol version this module speaks. */
export const PROTOCOL_VERSION = 1;

/** A message (after the envelope) may not exceed 256 KiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Room ids are UTF-8 strings of at most 128 bytes. */
export const MAX_ROOM_ID_BYTES = 128;
/** Update batch ids (and fragment batch ids) are 8 bytes. */
export const BATCH_ID_BYTES = 8;
/** Default reassembly timeout for fragmented updates. */
export const FRAGMENT_TIMEOUT_MS = 10_000;

/** The keep-alive text frames; they bypass the binary envelope entirely. */
export const PING = 'ping';
export const PONG = 'pong';

/** Four magic bytes naming the CRDT a room holds. Same room id + other CRDT = other room. */
export const CrdtType = {
  Loro: '%LOR',
  LoroEphemeralStore: '%EPH',
  LoroEphemeralStorePersisted: '%EPS',
  Yjs: '%YJS',
  YjsAwareness: '%YAW',
  Elo: '%ELO',
  Flock: '%FLO',
} as const;
export type CrdtType = (typeof CrdtType)[keyof typeof CrdtType];

export const MessageType = {
  JoinRequest: 0x00,
  JoinResponseOk: 0x01,
  JoinError: 0x02,
  DocUpdate: 0x03,
  DocUpdateFragmentHeader: 0x04,
  DocUpdateFragment: 0x05,
  RoomError: 0x06,
  Leave: 0x07,
  Ack: 0x08,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const JoinErrorCode = {
  Unknown: 0x00,
  VersionUnknown: 0x01,
  AuthFailed: 0x02,
  AppError: 0x7f,
} as const;
export type JoinErrorCode = (typeof JoinErrorCode)[keyof typeof JoinErrorCode];

export const RoomErrorCode = {
  RejoinSuggested: 0x01,
  Evicted: 0x02,
  Unknown: 0x7f,
} as const;
export type RoomErrorCode = (typeof RoomErrorCode)[keyof typeof RoomErrorCode];

/** The status byte of an Ack. */
export const UpdateStatus = {
  Ok: 0x00,
  Unknown: 0x01,
  PermissionDenied: 0x03,
  InvalidUpdate: 0x04,
  PayloadTooLarge: 0x05,
  RateLimited: 0x06,
  FragmentTimeout: 0x07,
  AppError: 0x7f,
} as const;
export type UpdateStatus = (typeof UpdateStatus)[keyof typeof UpdateStatus];

export type Permission = 'read' | 'write';

/** An 8-byte batch id as `0x` + 16 lowercase hex digits (the reference implementation's form). */
export type BatchId = `0x${string}`;

interface Envelope {
  crdt: CrdtType;
  roomId: string;
}

export interface JoinRequest extends Envelope {
  type: typeof MessageType.JoinRequest;
  /** Application-defined join payload. Tandem: see `join-auth.ts`. */
  auth: Uint8Array;
  /** The requester's version (for %LOR, an encoded Loro VersionVector; may be empty). */
  version: Uint8Array;
}

export interface JoinResponseOk extends Envelope {
  type: typeof MessageType.JoinResponseOk;
  permission: Permission;
  version: Uint8Array;
  extra: Uint8Array;
}

export interface JoinError extends Envelope {
  type: typeof MessageType.JoinError;
  code: JoinErrorCode;
  message: string;
  /** Only with `VersionUnknown`. */
  receiverVersion?: Uint8Array;
  /** Only with `AppError`. Tandem's values: `AppErrorCode`. */
  appCode?: string;
}

export interface DocUpdate extends Envelope {
  type: typeof MessageType.DocUpdate;
  updates: Uint8Array[];
  batchId: BatchId;
}

export interface DocUpdateFragmentHeader extends Envelope {
  type: typeof MessageType.DocUpdateFragmentHeader;
  batchId: BatchId;
  fragmentCount: number;
  totalSizeBytes: number;
}

export interface DocUpdateFragment extends Envelope {
  type: typeof MessageType.DocUpdateFragment;
  batchId: BatchId;
  index: number;
  fragment: Uint8Array;
}

export interface RoomError extends Envelope {
  type: typeof MessageType.RoomError;
  code: RoomErrorCode;
  message: string;
}

export interface Leave extends Envelope {
  type: typeof MessageType.Leave;
}

export interface Ack extends Envelope {
  type: typeof MessageType.Ack;
  refId: BatchId;
  status: UpdateStatus;
}

/** Every message of the protocol; both directions use the same set. */
export type ProtocolMessage = JoinRequest | JoinResponseOk | JoinError | DocUpdate | DocUpdateFragmentHeader | DocUpdateFragment | RoomError | Leave | Ack;

/**
 * Tandem's `app_code` strings for `JoinError(AppError)`. The protocol lets the app choose them;
 * clients switch on these, so they are a closed set.
 */
export const AppErrorCode = {
  /** No document with this id (or it was deleted). */
  RoomNotFound: 'room_not_found',
  /** The server does not host this CRDT type (Tandem hosts %LOR and %EPH). */
  UnsupportedCrdt: 'unsupported_crdt',
  /** This connection already holds the maximum number of rooms. */
  TooManyRooms: 'too_many_rooms',
  /** The database is unreachable; try again later (the connection stays open). */
  Unavailable: 'unavailable',
  /** Too many joins from this socket just now: retry this join after a second or so. */
  RateLimited: 'rate_limited',
} as const;
export type AppErrorCode = (typeof AppErrorCode)[keyof typeof AppErrorCode];

/**
 * Why the server refused a client's presence (%EPH) batch, a closed set. The name is what the
 * server logs and counts; on the wire it is the Ack status `PRESENCE_REFUSAL_STATUS` gives it
 * (the protocol's Ack has a status byte and no text). A refused batch is neither kept nor
 * relayed; the socket stays open and everyone else goes on being served.
 */
export const PresenceRefusal = {
  /** Not an EphemeralStore update, or one holding a container reference. */
  Malformed: 'presence_malformed',
  /** An entry over the entry size limit, or a fragmented batch (presence is never that large). */
  TooLarge: 'presence_too_large',
  /** The batch would leave the socket more entries in the room than it may hold. */
  TooManyEntries: 'presence_too_many_entries',
  /** More entries a second than the socket may send; send the latest state a little later. */
  RateLimited: 'presence_rate_limited',
} as const;
export type PresenceRefusal = (typeof PresenceRefusal)[keyof typeof PresenceRefusal];

/** The Ack status each presence refusal is answered with. */
export const PRESENCE_REFUSAL_STATUS = {
  [PresenceRefusal.Malformed]: UpdateStatus.InvalidUpdate,
  [PresenceRefusal.TooLarge]: UpdateStatus.PayloadTooLarge,
  [PresenceRefusal.TooManyEntries]: UpdateStatus.PayloadTooLarge,
  [PresenceRefusal.RateLimited]: UpdateStatus.RateLimited,
} as const satisfies Record<PresenceRefusal, UpdateStatus>;

/** A compile-time exhaustiveness check for switches over the unions above. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}

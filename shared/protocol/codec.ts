/**
 * Encoder and decoder for loro-protocol v1 frames. Pure: no I/O, no timers.
 *
 * Decoding untrusted bytes is an expected failure, so `decodeMessage` returns a value
 * (`{ ok: false, error }`) rather than throwing; it never loops more than the input allows
 * (every element it reads consumes at least one byte). Encoding a message that breaks the
 * protocol's limits is a bug in the caller and throws.
 */
import { BATCH_ID_BYTES, CrdtType, JoinErrorCode, MAX_MESSAGE_BYTES, MAX_ROOM_ID_BYTES, MessageType, RoomErrorCode, UpdateStatus, assertNever, type BatchId, type ProtocolMessage } from './messages';

/** Why a frame could not be decoded. */
export const DecodeErrorReason = {
  Truncated: 'truncated',
  TooLarge: 'too_large',
  UnknownCrdt: 'unknown_crdt',
  UnknownMessageType: 'unknown_message_type',
  RoomIdTooLong: 'room_id_too_long',
  InvalidUtf8: 'invalid_utf8',
  InvalidVarint: 'invalid_varint',
  InvalidPermission: 'invalid_permission',
  TrailingBytes: 'trailing_bytes',
} as const;
export type DecodeErrorReason = (typeof DecodeErrorReason)[keyof typeof DecodeErrorReason];

/** A frame that is not a valid protocol message. */
export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError';
  constructor(
    readonly reason: DecodeErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export type DecodeResult = { ok: true; message: ProtocolMessage } | { ok: false; error: ProtocolDecodeError };

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const crdtByMagic = new Map<string, CrdtType>(Object.values(CrdtType).map((c) => [c, c]));
const magicBytes = new Map<CrdtType, Uint8Array>(Object.values(CrdtType).map((c) => [c, utf8Encoder.encode(c)]));
/** Two hex digits per byte value; and each ASCII code's hex digit value (-1: not a hex digit). */
const hexOfByte = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const hexDigit = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  hexDigit[c.toString(16).charCodeAt(0)] = c;
  hexDigit[c.toString(16).toUpperCase().charCodeAt(0)] = c;
}
const joinErrorCodes = new Set<number>(Object.values(JoinErrorCode));
const roomErrorCodes = new Set<number>(Object.values(RoomErrorCode));
const updateStatuses = new Set<number>(Object.values(UpdateStatus));

class Writer {
  private buf = new Uint8Array(64);
  private len = 0;

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.len++] = value;
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
  }

  uleb128(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new RangeError(`varUint out of range: ${value}`);
    }
    let n = value;
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      this.byte(b);
    } while (n > 0);
  }

  varBytes(value: Uint8Array): void {
    this.uleb128(value.length);
    this.bytes(value);
  }

  varString(value: string): void {
    this.varBytes(utf8Encoder.encode(value));
  }

  /**
   * A string's UTF-8 bytes, length first, failing when they are more than `max`. Room ids are
   * ASCII: they are written as they are read, without a TextEncoder call (a visible cost per
   * message, with one Ack per update).
   */
  varUtf8(value: string, max: number): void {
    let ascii = value.length <= max;
    for (let i = 0; ascii && i < value.length; i++) if (value.charCodeAt(i) > 0x7f) ascii = false;
    if (!ascii) {
      const bytes = utf8Encoder.encode(value);
      if (bytes.length > max) throw new RangeError(`room id is ${bytes.length} bytes (max ${max})`);
      return this.varBytes(bytes);
    }
    this.uleb128(value.length);
    this.reserve(value.length);
    for (let i = 0; i < value.length; i++) this.buf[this.len++] = value.charCodeAt(i);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw truncated();
    return this.buf[this.pos++]!;
  }

  bytes(length: number): Uint8Array {
    if (length > this.remaining) throw truncated();
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** LEB128 unsigned integer, at most 32 bits (5 bytes). */
  uleb128(): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) break;
        return result;
      }
    }
    throw new ProtocolDecodeError(DecodeErrorReason.InvalidVarint, 'varUint longer than 32 bits');
  }

  varBytes(): Uint8Array {
    return this.bytes(this.uleb128());
  }

  varString(): string {
    const raw = this.varBytes();
    try {
      return utf8Decoder.decode(raw);
    } catch {
      throw new ProtocolDecodeError(DecodeErrorReason.InvalidUtf8, 'string is not valid UTF-8');
    }
  }

  /** `length` bytes of UTF-8 as a string; ASCII (every room id) without a TextDecoder call. */
  utf8(length: number): string {
    const raw = this.bytes(length);
    let ascii = '';
    for (let i = 0; i < raw.length; i++) {
      const b = raw[i]!;
      if (b > 0x7f) {
        try {
          return utf8Decoder.decode(raw);
        } catch {
          throw new ProtocolDecodeError(DecodeErrorReason.InvalidUtf8, 'room id is not valid UTF-8');
        }
      }
      ascii += String.fromCharCode(b);
    }
    return ascii;
  }

  batchId(): BatchId {
    return bytesToBatchId(this.bytes(BATCH_ID_BYTES));
  }

  end(): void {
    if (this.remaining !== 0) {
      throw new ProtocolDecodeError(DecodeErrorReason.TrailingBytes, `${this.remaining} unexpected trailing bytes`);
    }
  }
}

function truncated(): ProtocolDecodeError {
  return new ProtocolDecodeError(DecodeErrorReason.Truncated, 'frame ends before the message does');
}

/** Formats 8 bytes as a `0x…` batch id. */
export function bytesToBatchId(bytes: Uint8Array): BatchId {
  let hex = '0x';
  for (let i = 0; i < bytes.length; i++) hex += hexOfByte[bytes[i]!];
  return hex as BatchId;
}

/** Parses a `0x…` batch id; throws on anything but exactly 8 bytes of hex. */
export function batchIdToBytes(id: BatchId): Uint8Array {
  const out = new Uint8Array(BATCH_ID_BYTES);
  if (id.length === 2 + 2 * BATCH_ID_BYTES && id.startsWith('0x')) {
    for (let i = 0; i < BATCH_ID_BYTES; i++) {
      const high = hexDigit[id.charCodeAt(2 + 2 * i)] ?? -1;
      const low = hexDigit[id.charCodeAt(3 + 2 * i)] ?? -1;
      if (high < 0 || low < 0) throw new RangeError(`invalid batch id: ${id}`);
      out[i] = high * 16 + low;
    }
    return out;
  }
  throw new RangeError(`invalid batch id: ${id}`);
}

/** Four random bytes, drawn once per process: the first half of every batch id it makes. */
let batchIdPrefix: string | null = null;
let batchIdCounter = 0;

/**
 * A fresh batch id: this process's random prefix and a counter. Unique per sender, which is
 * all an Ack needs to find its batch; a random draw per id (`getRandomValues`) was a visible
 * cost per keystroke on both ends.
 */
export function newBatchId(): BatchId {
  if (batchIdPrefix === null) {
    const bytes = new Uint8Array(4);
    crypto.getRandomValues(bytes);
    batchIdPrefix = bytesToBatchId(bytes);
  }
  batchIdCounter = (batchIdCounter + 1) >>> 0;
  return `${batchIdPrefix}${batchIdCounter.toString(16).padStart(8, '0')}` as BatchId;
}

/** Byte length of a room id as it travels (UTF-8). */
export function roomIdByteLength(roomId: string): number {
  return utf8Encoder.encode(roomId).length;
}

/**
 * Encodes one message. Throws when the message breaks the protocol (room id over 128 bytes,
 * frame over 256 KiB, bad batch id): the caller must split or fragment first.
 */
export function encodeMessage(message: ProtocolMessage): Uint8Array {
  const w = new Writer();
  w.bytes(magicBytes.get(message.crdt) ?? utf8Encoder.encode(message.crdt));
  w.varUtf8(message.roomId, MAX_ROOM_ID_BYTES);
  w.byte(message.type);
  switch (message.type) {
    case MessageType.JoinRequest:
      w.varBytes(message.auth);
      w.varBytes(message.version);
      break;
    case MessageType.JoinResponseOk:
      w.varString(message.permission);
      w.varBytes(message.version);
      w.varBytes(message.extra);
      break;
    case MessageType.JoinError:
      w.byte(message.code);
      w.varString(message.message);
      if (message.code === JoinErrorCode.VersionUnknown && message.receiverVersion) w.varBytes(message.receiverVersion);
      if (message.code === JoinErrorCode.AppError && message.appCode !== undefined) w.varString(message.appCode);
      break;
    case MessageType.DocUpdate:
      w.uleb128(message.updates.length);
      for (const update of message.updates) w.varBytes(update);
      w.bytes(batchIdToBytes(message.batchId));
      break;
    case MessageType.DocUpdateFragmentHeader:
      w.bytes(batchIdToBytes(message.batchId));
      w.uleb128(message.fragmentCount);
      w.uleb128(message.totalSizeBytes);
      break;
    case MessageType.DocUpdateFragment:
      w.bytes(batchIdToBytes(message.batchId));
      w.uleb128(message.index);
      w.varBytes(message.fragment);
      break;
    case MessageType.RoomError:
      w.byte(message.code);
      w.varString(message.message);
      break;
    case MessageType.Leave:
      break;
    case MessageType.Ack:
      w.bytes(batchIdToBytes(message.refId));
      w.byte(message.status);
      break;
    default:
      assertNever(message, 'message type');
  }
  const out = w.finish();
  if (out.length > MAX_MESSAGE_BYTES) throw new RangeError(`message is ${out.length} bytes (max ${MAX_MESSAGE_BYTES})`);
  return out;
}

/** Decodes one binary frame. Never throws on bad input: returns `{ ok: false, error }`. */
export function decodeMessage(frame: Uint8Array): DecodeResult {
  try {
    return { ok: true, message: decodeOrThrow(frame) };
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return { ok: false, error };
    throw error;
  }
}

function decodeOrThrow(frame: Uint8Array): ProtocolMessage {
  if (frame.length > MAX_MESSAGE_BYTES) {
    throw new ProtocolDecodeError(DecodeErrorReason.TooLarge, `frame is ${frame.length} bytes (max ${MAX_MESSAGE_BYTES})`);
  }
  const r = new Reader(frame);
  const m = r.bytes(4);
  const magic = String.fromCharCode(m[0]!, m[1]!, m[2]!, m[3]!);
  const crdt = crdtByMagic.get(magic);
  if (crdt === undefined) throw new ProtocolDecodeError(DecodeErrorReason.UnknownCrdt, 'unknown CRDT magic bytes');
  const roomIdLength = r.uleb128();
  if (roomIdLength > MAX_ROOM_ID_BYTES) {
    throw new ProtocolDecodeError(DecodeErrorReason.RoomIdTooLong, `room id is ${roomIdLength} bytes (max ${MAX_ROOM_ID_BYTES})`);
  }
  const roomId = r.utf8(roomIdLength);
  const type = r.byte();
  switch (type) {
    case MessageType.JoinRequest: {
      const auth = r.varBytes();
      const version = r.varBytes();
      r.end();
      return { type, crdt, roomId, auth, version };
    }
    case MessageType.JoinResponseOk: {
      const permission = r.varString();
      if (permission !== 'read' && permission !== 'write') {
        throw new ProtocolDecodeError(DecodeErrorReason.InvalidPermission, 'permission must be "read" or "write"');
      }
      const version = r.varBytes();
      // `extra` is always written by v1 encoders; tolerate its absence from older peers.
      const extra = r.remaining > 0 ? r.varBytes() : new Uint8Array(0);
      r.end();
      return { type, crdt, roomId, permission, version, extra };
    }
    case MessageType.JoinError: {
      const rawCode = r.byte();
      const code = joinErrorCodes.has(rawCode) ? (rawCode as JoinErrorCode) : JoinErrorCode.Unknown;
      const message = r.varString();
      const out: ProtocolMessage = { type, crdt, roomId, code, message };
      if (code === JoinErrorCode.VersionUnknown && r.remaining > 0) out.receiverVersion = r.varBytes();
      if (code === JoinErrorCode.AppError && r.remaining > 0) out.appCode = r.varString();
      r.end();
      return out;
    }
    case MessageType.DocUpdate: {
      const count = r.uleb128();
      // Each update takes at least one byte (its length), plus the 8-byte batch id.
      if (count > r.remaining) throw truncated();
      const updates: Uint8Array[] = [];
      for (let i = 0; i < count; i++) updates.push(r.varBytes());
      const batchId = r.batchId();
      r.end();
      return { type, crdt, roomId, updates, batchId };
    }
    case MessageType.DocUpdateFragmentHeader: {
      const batchId = r.batchId();
      const fragmentCount = r.uleb128();
      const totalSizeBytes = r.uleb128();
      r.end();
      return { type, crdt, roomId, batchId, fragmentCount, totalSizeBytes };
    }
    case MessageType.DocUpdateFragment: {
      const batchId = r.batchId();
      const index = r.uleb128();
      const fragment = r.varBytes();
      r.end();
      return { type, crdt, roomId, batchId, index, fragment };
    }
    case MessageType.RoomError: {
      const rawCode = r.byte();
      const code = roomErrorCodes.has(rawCode) ? (rawCode as RoomErrorCode) : RoomErrorCode.Unknown;
      const message = r.varString();
      r.end();
      return { type, crdt, roomId, code, message };
    }
    case MessageType.Leave:
      r.end();
      return { type, crdt, roomId };
    case MessageType.Ack: {
      const refId = r.batchId();
      const rawStatus = r.byte();
      const status = updateStatuses.has(rawStatus) ? (rawStatus as UpdateStatus) : UpdateStatus.Unknown;
      r.end();
      return { type, crdt, roomId, refId, status };
    }
    default:
      throw new ProtocolDecodeError(DecodeErrorReason.UnknownMessageType, `unknown message type 0x${type.toString(16)}`);
  }
}

/**
 * Golden bytes: one pinned encoding per message type. A diff here is a protocol change. Each
 * is also checked against the reference implementation (npm `loro-protocol`), byte for byte.
 */
import * as reference from 'loro-protocol';
import { describe, expect, it } from 'vitest';
import { CrdtType, JoinErrorCode, MessageType, RoomErrorCode, UpdateStatus, decodeMessage, encodeMessage, type ProtocolMessage } from '../../shared/protocol/index';

const room = 'doc1';
const batchId = '0x0102030405060708' as const;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const cases: [name: string, message: ProtocolMessage, golden: string][] = [
  ['JoinRequest', { type: MessageType.JoinRequest, crdt: CrdtType.Loro, roomId: room, auth: new Uint8Array([0xaa]), version: new Uint8Array([1, 2]) }, '254c4f5204646f63310001aa020102'],
  [
    'JoinResponseOk',
    { type: MessageType.JoinResponseOk, crdt: CrdtType.Loro, roomId: room, permission: 'write', version: new Uint8Array([9]), extra: new Uint8Array(0) },
    '254c4f5204646f6331010577726974650109' + '00',
  ],
  [
    'JoinError (version_unknown with receiver version)',
    { type: MessageType.JoinError, crdt: CrdtType.Loro, roomId: room, code: JoinErrorCode.VersionUnknown, message: 'bad', receiverVersion: new Uint8Array([7]) },
    '254c4f5204646f633102010362616401' + '07',
  ],
  [
    'JoinError (app_error with app code)',
    { type: MessageType.JoinError, crdt: CrdtType.Loro, roomId: room, code: JoinErrorCode.AppError, message: 'no', appCode: 'room_not_found' },
    '254c4f5204646f633102' + '7f' + '026e6f' + '0e726f6f6d5f6e6f745f666f756e64',
  ],
  [
    'DocUpdate',
    { type: MessageType.DocUpdate, crdt: CrdtType.Loro, roomId: room, updates: [new Uint8Array([1]), new Uint8Array([2, 3])], batchId },
    '254c4f5204646f633103' + '02' + '0101' + '020203' + '0102030405060708',
  ],
  [
    'DocUpdateFragmentHeader',
    { type: MessageType.DocUpdateFragmentHeader, crdt: CrdtType.Loro, roomId: room, batchId, fragmentCount: 2, totalSizeBytes: 300 },
    '254c4f5204646f633104' + '0102030405060708' + '02' + 'ac02',
  ],
  [
    'DocUpdateFragment',
    { type: MessageType.DocUpdateFragment, crdt: CrdtType.Loro, roomId: room, batchId, index: 1, fragment: new Uint8Array([5, 6]) },
    '254c4f5204646f633105' + '0102030405060708' + '01' + '020506',
  ],
  ['RoomError', { type: MessageType.RoomError, crdt: CrdtType.Loro, roomId: room, code: RoomErrorCode.Evicted, message: 'bye' }, '254c4f5204646f633106' + '02' + '03627965'],
  ['Leave', { type: MessageType.Leave, crdt: CrdtType.LoroEphemeralStore, roomId: room }, '2545504804646f633107'],
  ['Ack', { type: MessageType.Ack, crdt: CrdtType.Loro, roomId: room, refId: batchId, status: UpdateStatus.PermissionDenied }, '254c4f5204646f633108' + '0102030405060708' + '03'],
];

describe('loro-protocol v1 golden bytes', () => {
  it.each(cases)('%s', (_name, message, golden) => {
    const bytes = encodeMessage(message);
    expect(hex(bytes)).toBe(golden);
    expect(hex(reference.encode(message as reference.ProtocolMessage))).toBe(golden);
    const decoded = decodeMessage(bytes);
    expect(decoded).toEqual({ ok: true, message });
    // The reference decoder reads what we write.
    expect(reference.decode(bytes).type).toBe(message.type);
  });

  it('covers all nine message types', () => {
    expect(new Set(cases.map(([, m]) => m.type))).toEqual(new Set(Object.values(MessageType)));
  });

  it('uses the magic bytes and codes of the reference implementation', () => {
    expect(Object.values(CrdtType).sort()).toEqual(Object.values(reference.CrdtType).sort());
    expect(MessageType).toEqual(reference.MessageType);
    expect(JoinErrorCode).toEqual(reference.JoinErrorCode);
    expect(RoomErrorCode).toEqual(reference.RoomErrorCode);
    expect(UpdateStatus).toEqual(reference.UpdateStatusCode);
  });
});

/**
 * Checks an update from a client before the room imports it: Tandem documents hold one root
 * text container with the marks of shared/document.ts, and nothing else (no maps, lists,
 * trees, movable lists, counters, nested containers, unknown marks). It also bounds what the
 * update costs once imported: operations (each costs memory in every replica however few
 * bytes it took on the wire: run-length columns made 515 KiB become a 64 MiB document) and
 * characters inserted or deleted.
 *
 * It reads Loro's update encoding itself (docs/encoding.md in loro-dev/loro: envelope, then
 * postcard change blocks with a container table, a key table, columnar ops and a values
 * section) because the alternatives cannot see what matters: `decodeImportBlobMeta` gives only
 * version vectors and a change count, and an import reports changes only after they are in
 * the document (with no way to take them out), and never for changes still waiting for their
 * dependencies, which a room stores and relays. Reading is strict (everything must be
 * consumed) and fails closed: what it cannot read is refused, never passed on. A Loro upgrade
 * that changes the encoding shows in test/unit/update-check.test.ts, which checks real
 * updates of every kind against this reader.
 *
 * Snapshots (the official client sends one when it joins a room the server has nothing of)
 * are turned into an update by a scratch import and checked the same way, after a bound on
 * their size read from `decodeImportBlobMeta`.
 */
import { LoroDoc, decodeImportBlobMeta } from 'loro-crdt';
import { STYLE_KEYS, TEXT_CONTAINER } from '../../shared/document';
import { isLoroPanic } from '../errors';

/** Why an update was refused: a closed set, logged and counted by name. */
export type UpdateRefusal =
  /** Not a Loro blob this reader can read (truncated, garbage, trailing bytes). */
  | 'malformed'
  /** A Loro encoding Tandem does not take from clients (shallow snapshots, pre-1.0 formats). */
  | 'unsupported_encoding'
  /** An operation on a container other than the document's root text. */
  | 'foreign_container'
  /** An operation text does not have, or a value of a kind Tandem never writes. */
  | 'foreign_operation'
  /** A mark Tandem does not use, or a mark value of the wrong type. */
  | 'foreign_mark'
  /** More operations in one update than the limit. */
  | 'too_many_ops'
  /** More characters inserted or deleted in one update than a document may hold. */
  | 'too_large';

export interface UpdateLimits {
  /** Operations one update may carry (rows of Loro's op table). */
  maxOps: number;
  /** Characters (Unicode scalars) one update may insert or delete. */
  maxAtoms: number;
}

export type UpdateCheck = { ok: true; ops: number; atoms: number; insertedBytes: number } | { ok: false; reason: UpdateRefusal; detail: string };

const MODE_SNAPSHOT = 3;
const MODE_UPDATES = 4;
const HEADER_BYTES = 22;
/** Container kind tag of Text in the container table. */
const KIND_TEXT = 2;
/** Value tags (low seven bits of the op table's value_type): the ones text operations use. */
const V_NULL = 0;
const V_STR = 5;
const V_DELETE_SEQ = 9;
const V_MARK_START = 12;
/** Nested LoroValue tags a mark value may have: null, true, false, string. */
const MARK_VALUE_TAGS = new Set([0, 1, 2, 5]);
/** The longest mark value (a link's href). */
const MAX_MARK_VALUE_BYTES = 4096;

class Malformed extends Error {}
class Refused extends Error {
  constructor(
    readonly reason: UpdateRefusal,
    detail: string,
  ) {
    super(detail);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over bytes, reading Loro's and postcard's primitives; throws Malformed past the end. */
class Reader {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly end = bytes.length,
    start = 0,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Malformed('truncated');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 (also postcard's unsigned varints), up to 2^53. */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new Malformed('varint too large');
        return result;
      }
      scale *= 128;
    }
    throw new Malformed('varint too long');
  }

  /** Postcard zigzag signed varint. */
  zigzag(): number {
    const n = this.uleb();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** A length-prefixed byte field: returns a reader over it and moves past it. */
  field(): Reader {
    const length = this.uleb();
    if (length > this.end - this.pos) throw new Malformed('field past the end');
    const inner = new Reader(this.bytes, this.pos + length, this.pos);
    this.pos += length;
    return inner;
  }

  skip(length: number): void {
    if (length > this.end - this.pos) throw new Malformed('truncated');
    this.pos += length;
  }

  string(): string {
    const length = this.uleb();
    if (length > this.end - this.pos) throw new Malformed('string past the end');
    try {
      return utf8.decode(this.bytes.subarray(this.pos, (this.pos += length)));
    } catch {
      throw new Malformed('invalid UTF-8');
    }
  }

  /** Reads an AnyRle column of values read by `value`, calling `each` per row; returns the row count. */
  anyRle(value: (r: Reader) => number, each: (v: number) => void, maxRows: number): number {
    let rows = 0;
    while (!this.done) {
      const k = this.zigzag();
      if (k === 0) throw new Malformed('zero-length run');
      const count = Math.abs(k);
      rows += count;
      if (rows > maxRows) throw new Refused('too_many_ops', `more than ${maxRows} operations`);
      if (k > 0) {
        const v = value(this);
        for (let i = 0; i < count; i++) each(v);
      } else for (let i = 0; i < count; i++) each(value(this));
    }
    return rows;
  }
}

/** What one change block holds that the check needs. */
interface BlockTotals {
  ops: number;
  atoms: number;
  insertedBytes: number;
}

function checkBlock(r: Reader, limits: UpdateLimits, opsSoFar: number): BlockTotals {
  r.uleb(); // counter_start
  const atoms = r.uleb(); // counter_len
  r.uleb(); // lamport_start
  r.uleb(); // lamport_len
  const changes = r.uleb();
  if (changes < 1) throw new Malformed('a block without changes');
  r.field(); // header: peers, deps, lamports
  r.field(); // change_meta: timestamps, commit messages
  const cids = r.field();
  const keysField = r.field();
  const positions = r.field();
  const ops = r.field();
  r.field(); // delete_start_ids
  const values = r.field();
  if (!r.done) throw new Malformed('bytes after a change block');

  const keys: string[] = [];
  while (!keysField.done) keys.push(keysField.string());

  // The container table: only the root text.
  const containers = cids.uleb();
  for (let i = 0; i < containers; i++) {
    if (cids.uleb() !== 4) throw new Malformed('container row');
    const isRoot = cids.byte();
    const kind = cids.byte();
    cids.uleb(); // peer index
    const keyOrCounter = cids.zigzag();
    if (isRoot !== 1 || kind !== KIND_TEXT || keys[keyOrCounter] !== TEXT_CONTAINER) {
      const name = isRoot === 1 ? `root ${JSON.stringify(keys[keyOrCounter] ?? '?')} of kind ${kind}` : `a nested container of kind ${kind}`;
      throw new Refused('foreign_container', `${name}; documents hold only the root text "${TEXT_CONTAINER}"`);
    }
  }
  if (!cids.done) throw new Malformed('bytes after the container table');
  // Tree positions exist only for trees.
  if (!positions.done) throw new Refused('foreign_container', 'tree positions');

  // The op table: four columns; value_type and len are the ones the check reads.
  if (ops.uleb() !== 1 || ops.uleb() !== 4) throw new Malformed('op table shape');
  ops.field(); // container_index (every container is the root text)
  ops.field(); // prop
  const valueTypes: number[] = [];
  const room = limits.maxOps - opsSoFar;
  const rows = ops.field().anyRle(
    (c) => c.byte(),
    (v) => valueTypes.push(v & 0x7f),
    room,
  );
  let lenSum = 0;
  const lenRows = ops.field().anyRle(
    (c) => c.uleb(),
    (v) => (lenSum += v),
    room,
  );
  if (!ops.done || lenRows !== rows) throw new Malformed('op table columns disagree');
  if (lenSum !== atoms) throw new Malformed('op lengths do not cover the block');

  // The values, in op order: text inserts carry strings, marks a key and a value.
  let insertedBytes = 0;
  for (const type of valueTypes) {
    switch (type) {
      case V_STR: {
        const length = values.uleb();
        values.skip(length);
        insertedBytes += length;
        break;
      }
      case V_DELETE_SEQ:
      case V_NULL:
        break;
      case V_MARK_START: {
        values.byte(); // flags
        values.uleb(); // length
        const key = keys[values.uleb()];
        if (key === undefined || !STYLE_KEYS.has(key)) throw new Refused('foreign_mark', `mark ${JSON.stringify(key ?? '?')}`);
        const tag = values.byte();
        if (!MARK_VALUE_TAGS.has(tag)) throw new Refused('foreign_mark', `mark ${key} with a value of kind ${tag}`);
        if (tag === 5) {
          const length = values.uleb();
          if (length > MAX_MARK_VALUE_BYTES) throw new Refused('foreign_mark', `mark ${key} with a ${length}-byte value`);
          values.skip(length);
        }
        break;
      }
      default:
        throw new Refused('foreign_operation', `an operation with values of kind ${type}`);
    }
  }
  if (!values.done) throw new Malformed('values left over');
  // Keys are the root's name and mark keys; anything else is there for something Tandem has not.
  for (const key of keys) if (key !== TEXT_CONTAINER && !STYLE_KEYS.has(key)) throw new Refused('foreign_mark', `key ${JSON.stringify(key)}`);
  return { ops: rows, atoms, insertedBytes };
}

/** Checks the change blocks of an update (mode 4) blob. */
function checkUpdateBody(bytes: Uint8Array, limits: UpdateLimits): UpdateCheck {
  const r = new Reader(bytes, bytes.length, HEADER_BYTES);
  const total = { ops: 0, atoms: 0, insertedBytes: 0 };
  while (!r.done) {
    const block = checkBlock(r.field(), limits, total.ops);
    total.ops += block.ops;
    total.atoms += block.atoms;
    total.insertedBytes += block.insertedBytes;
    if (total.atoms > limits.maxAtoms) throw new Refused('too_large', `more than ${limits.maxAtoms} characters inserted or deleted in one update`);
  }
  return { ok: true, ...total };
}

/**
 * A snapshot, checked as the update of everything it holds (after a bound read from its
 * metadata). It costs a scratch import and export, so the server runs it in the heavy-work
 * thread (compactor.ts); `checkUpdate` says `needs_worker` for snapshots.
 */
export function checkSnapshot(bytes: Uint8Array, limits: UpdateLimits): UpdateCheck {
  try {
    return checkSnapshotBody(bytes, limits);
  } catch (error) {
    return refusalOf(error);
  }
}

function checkSnapshotBody(bytes: Uint8Array, limits: UpdateLimits): UpdateCheck {
  let meta: ReturnType<typeof decodeImportBlobMeta>;
  try {
    meta = decodeImportBlobMeta(bytes, true);
  } catch {
    throw new Malformed('unreadable snapshot');
  }
  try {
    if (meta.mode !== 'snapshot') throw new Refused('unsupported_encoding', `a ${meta.mode}`);
    let atoms = 0;
    for (const counter of meta.partialEndVersionVector.toJSON().values()) atoms += counter;
    if (atoms > limits.maxAtoms) throw new Refused('too_large', `a snapshot of ${atoms} operations`);
  } finally {
    meta.partialStartVersionVector.free();
    meta.partialEndVersionVector.free();
  }
  const scratch = new LoroDoc();
  let panicked = false;
  try {
    scratch.detach();
    scratch.import(bytes);
    return checkUpdateBody(scratch.export({ mode: 'update' }), limits);
  } catch (error) {
    // A panic leaves Loro unusable: the heavy-work thread must hear of it and be replaced.
    panicked = isLoroPanic(error);
    if (error instanceof Refused || error instanceof Malformed || panicked) throw error;
    throw new Malformed('unreadable snapshot');
  } finally {
    // Freeing after a panic could throw in its place; the thread's memory goes with it anyway.
    if (!panicked) scratch.free();
  }
}

function refusalOf(error: unknown): UpdateCheck {
  if (error instanceof Refused) return { ok: false, reason: error.reason, detail: error.message };
  if (error instanceof Malformed) return { ok: false, reason: 'malformed', detail: error.message };
  throw error;
}

/**
 * Checks one update a client sent. Pure and synchronous: nothing is imported anywhere. A
 * snapshot answers `needs_worker`: check it with `checkSnapshot`, off the event loop.
 */
export function checkUpdate(bytes: Uint8Array, limits: UpdateLimits): UpdateCheck | { ok: 'needs_worker' } {
  try {
    if (bytes.length < HEADER_BYTES || bytes[0] !== 0x6c || bytes[1] !== 0x6f || bytes[2] !== 0x72 || bytes[3] !== 0x6f) throw new Malformed('not a Loro blob');
    const mode = (bytes[20]! << 8) | bytes[21]!;
    if (mode === MODE_UPDATES) return checkUpdateBody(bytes, limits);
    if (mode === MODE_SNAPSHOT) return { ok: 'needs_worker' };
    throw new Refused('unsupported_encoding', `encoding mode ${mode}`);
  } catch (error) {
    return refusalOf(error);
  }
}

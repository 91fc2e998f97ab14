/**
 * Reads a presence update (a Loro EphemeralStore update) into its entries, strictly, so the
 * server can decide what each entry may do before anything reaches its store: whose key it
 * is, how large it is, and what identity it carries; and writes the update the server keeps
 * and relays instead, stamped with the socket's identity and the server's own timestamp.
 *
 * The encoding is postcard (serde) of `Vec<{ key: &str, value: Option<LoroValue>, timestamp:
 * i64 }>` (loro-internal `awareness.rs`, `EncodedState`), with LoroValue's own binary form:
 * a varint variant index, Null 0, Bool 1, Double 2, I64 3, String 4, List 5, Map 6, Container
 * 7, Binary 8 (loro-common `value.rs`). `EphemeralStore.apply` tells which keys changed but
 * not which were deleted when the store did not hold them, nor how large each entry was,
 * hence this reader. Anything it does not understand is refused (containers have no place in
 * presence), and it never throws on bad input. Values are checked and kept as the client's
 * bytes: the server re-frames them, it never re-encodes them.
 *
 * The server writes entries itself rather than through `EphemeralStore.set`, for the
 * timestamp: a store takes an entry only if its timestamp is newer than the one it holds, and
 * `set` stamps milliseconds, so a change made within a millisecond of the previous one (a
 * deletion right after a set) would be dropped by every receiver.
 */

/** One entry of an update: a set (with its value) or a deletion. */
export interface PresenceEntry {
  key: string;
  /** The entry's LoroValue as the client encoded it (checked); undefined: the entry deletes `key`. */
  value: Uint8Array | undefined;
  /** Bytes the entry took on the wire (key, value and timestamp). */
  bytes: number;
}

export type EntriesRefusal = 'malformed' | 'too_large';

export type EntriesOutcome = { ok: true; entries: PresenceEntry[] } | { ok: false; reason: EntriesRefusal; detail: string };

/** Values nest at most this deep (a cursor state is two levels). */
const MAX_DEPTH = 16;

class Refused extends Error {
  constructor(
    readonly reason: EntriesRefusal,
    detail: string,
  ) {
    super(detail);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Refused('malformed', 'truncated');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 varint of at most 64 bits. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (result >= 1n << 64n) throw new Refused('malformed', 'varint over 64 bits');
        return result;
      }
    }
    throw new Refused('malformed', 'varint over 10 bytes');
  }

  /** A length or count: at most what is left, since every element takes at least a byte. */
  length(): number {
    const n = this.varint();
    if (n > BigInt(this.left)) throw new Refused('malformed', 'a length past the end');
    return Number(n);
  }

  zigzag(): bigint {
    const n = this.varint();
    return n & 1n ? -((n + 1n) >> 1n) : n >> 1n;
  }

  take(n: number): Uint8Array {
    if (n > this.left) throw new Refused('malformed', 'truncated');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const bytes = this.take(this.length());
    try {
      return utf8.decode(bytes);
    } catch {
      throw new Refused('malformed', 'a string that is not UTF-8');
    }
  }
}

/** Reads past one LoroValue, checking it. */
function skipValue(r: Reader, depth: number): void {
  if (depth > MAX_DEPTH) throw new Refused('malformed', `values nested deeper than ${MAX_DEPTH}`);
  const variant = r.varint();
  switch (variant) {
    case 0n: // null
      return;
    case 1n: {
      if (r.byte() > 1) throw new Refused('malformed', 'a bool that is not 0 or 1');
      return;
    }
    case 2n: // f64
      r.take(8);
      return;
    case 3n: // i64
      r.zigzag();
      return;
    case 4n:
      r.string();
      return;
    case 5n: {
      const n = r.length();
      for (let i = 0; i < n; i++) skipValue(r, depth + 1);
      return;
    }
    case 6n: {
      const n = r.length();
      for (let i = 0; i < n; i++) {
        r.string();
        skipValue(r, depth + 1);
      }
      return;
    }
    case 7n:
      throw new Refused('malformed', 'a container reference (presence holds plain values)');
    case 8n:
      r.take(r.length());
      return;
    default:
      throw new Refused('malformed', `unknown value kind ${variant}`);
  }
}

/**
 * The entries of `update`, or why it is refused: not an EphemeralStore update (`malformed`),
 * or an entry over `maxEntryBytes` (`too_large`).
 */
export function readPresenceEntries(update: Uint8Array, limits: { maxEntryBytes: number }): EntriesOutcome {
  const r = new Reader(update);
  try {
    const count = r.length();
    const entries: PresenceEntry[] = [];
    for (let i = 0; i < count; i++) {
      const start = r.pos;
      const key = r.string();
      const option = r.byte();
      if (option > 1) throw new Refused('malformed', 'an entry that is neither a value nor a deletion');
      let value: Uint8Array | undefined;
      if (option === 1) {
        const from = r.pos;
        skipValue(r, 0);
        value = update.subarray(from, r.pos);
      }
      r.zigzag(); // the sender's timestamp: the server stamps its own
      const bytes = r.pos - start;
      if (bytes > limits.maxEntryBytes) throw new Refused('too_large', `an entry of ${bytes} bytes (at most ${limits.maxEntryBytes})`);
      entries.push({ key, value, bytes });
    }
    if (r.left !== 0) throw new Refused('malformed', `${r.left} bytes after the entries`);
    return { ok: true, entries };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason, detail: error.message };
    throw error;
  }
}

/** Who the server says wrote an entry. */
export interface Stamp {
  user: string;
  name: string;
}

/** Builds bytes: varints, strings, raw slices. */
class Writer {
  private readonly parts: number[] = [];
  private readonly chunks: Uint8Array[] = [];

  varint(n: bigint | number): this {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
    return this;
  }

  zigzag(n: number): this {
    const v = BigInt(n);
    return this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }

  string(s: string): this {
    const bytes = new TextEncoder().encode(s);
    return this.varint(bytes.length).raw(bytes);
  }

  raw(bytes: Uint8Array): this {
    this.flush();
    this.chunks.push(bytes);
    return this;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(Uint8Array.from(this.parts));
    this.parts.length = 0;
  }

  bytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const MAP = 6;
const STRING = 4;

/**
 * `value` (a LoroValue as `readPresenceEntries` gave it) as a map carrying `stamp`: a map's
 * `user` and `name` are replaced, any other value is kept under `value`.
 */
function stampedValue(value: Uint8Array, stamp: Stamp): Uint8Array {
  const pairs: Uint8Array[] = [];
  const r = new Reader(value);
  if (r.varint() === BigInt(MAP)) {
    const n = r.length();
    for (let i = 0; i < n; i++) {
      const from = r.pos;
      const key = r.string();
      skipValue(r, 1);
      if (key !== 'user' && key !== 'name') pairs.push(value.subarray(from, r.pos));
    }
  } else {
    pairs.push(new Writer().string('value').raw(value).bytes());
  }
  const w = new Writer().varint(MAP).varint(pairs.length + 2);
  for (const pair of pairs) w.raw(pair);
  return w.string('user').varint(STRING).string(stamp.user).string('name').varint(STRING).string(stamp.name).bytes();
}

/**
 * The update that sets `key` to `value` stamped with `stamp` (or deletes `key` when `value` is
 * undefined), at `timestamp` (ms; the store keeps the newest).
 */
export function encodePresenceEntry(key: string, value: Uint8Array | undefined, stamp: Stamp, timestamp: number): Uint8Array {
  const w = new Writer().varint(1).string(key);
  if (value === undefined) w.varint(0);
  else w.varint(1).raw(stampedValue(value, stamp));
  return w.zigzag(timestamp).bytes();
}

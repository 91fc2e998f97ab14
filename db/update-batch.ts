/**
 * One `doc_updates` row holds every update committed together (group commit): a count, then
 * each update as a length-prefixed byte string (LEB128 lengths, as in loro-protocol). Fewer,
 * larger rows make the log several times faster to write and smaller to store than a row per
 * keystroke, while every update stays byte-for-byte what its client sent.
 */

function lebLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeLeb(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** Encodes updates for one row. */
export function encodeUpdateBatch(updates: readonly Uint8Array[]): Uint8Array {
  let size = lebLength(updates.length);
  for (const u of updates) size += lebLength(u.length) + u.length;
  const out = new Uint8Array(size);
  let at = writeLeb(out, 0, updates.length);
  for (const u of updates) {
    at = writeLeb(out, at, u.length);
    out.set(u, at);
    at += u.length;
  }
  return out;
}

/** Decodes a row's updates (views into `bytes`). Throws on a corrupt row: stored data is trusted. */
export function decodeUpdateBatch(bytes: Uint8Array): Uint8Array[] {
  let at = 0;
  const readLeb = (): number => {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = bytes[at++];
      if (b === undefined) throw new Error('corrupt update batch: truncated length');
      n += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return n;
    }
    throw new Error('corrupt update batch: length too long');
  };
  const count = readLeb();
  const updates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = readLeb();
    if (at + len > bytes.length) throw new Error('corrupt update batch: truncated update');
    updates.push(bytes.subarray(at, at + len));
    at += len;
  }
  if (at !== bytes.length) throw new Error('corrupt update batch: trailing bytes');
  return updates;
}

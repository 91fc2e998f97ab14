/**
 * Doorbells (server/cluster/cluster-link.ts): one tick's commits become as few bus messages as
 * their heads need, each within the bus's size limit, and small entries ride along in the
 * room the heads leave, so other nodes apply them without reading the log.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NOTIFY_BYTES, parseBusMessage, type BusMessage } from '../../server/cluster/bus';
import { inlineEntry, packDoorbells, type InlineEntry } from '../../server/cluster/cluster-link';
import { newDocumentId } from '../../shared/ids';

const NODE = 'node-a1b2c3d4';

/** `count` documents' commits: seq i + 1, one update of `size` bytes each. */
function commits(count: number, size: number): { heads: [string, number][]; entries: InlineEntry[]; updates: Map<string, Uint8Array> } {
  const heads: [string, number][] = [];
  const entries: InlineEntry[] = [];
  const updates = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const docId = newDocumentId();
    const update = Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) % 256);
    heads.push([docId, i + 1]);
    entries.push(inlineEntry(docId, i + 1, [update]));
    updates.set(docId, update);
  }
  return { heads, entries, updates };
}

/** Each message as another node reads it: within the limit, and valid. */
function received(messages: BusMessage[], maxBytes: number): Extract<BusMessage, { type: 'doorbell' }>[] {
  return messages.map((message) => {
    const raw = JSON.stringify(message);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(maxBytes);
    const parsed = parseBusMessage(raw, 'another-node');
    if (!parsed.ok || parsed.message?.type !== 'doorbell') throw new Error(`not a doorbell: ${parsed.ok ? parsed.message?.type : parsed.reason}`);
    return parsed.message;
  });
}

describe('doorbells', () => {
  it('carry a tick of small commits as one NOTIFY-sized message, every entry inline and intact', () => {
    const { heads, entries, updates } = commits(40, 60);
    const messages = received(packDoorbells(NODE, heads, entries, MAX_NOTIFY_BYTES), MAX_NOTIFY_BYTES);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.heads).toEqual(heads);
    const inline = messages[0]!.entries ?? [];
    expect(inline.map(([docId, seq]) => [docId, seq])).toEqual(heads);
    for (const [docId, , [update]] of inline) expect(new Uint8Array(Buffer.from(update!, 'base64'))).toEqual(updates.get(docId));
  });

  it('split many heads over messages within the limit; entries fill what is left, in order, and never add a message', () => {
    const { heads, entries } = commits(600, 40);
    const messages = received(packDoorbells(NODE, heads, entries, MAX_NOTIFY_BYTES), MAX_NOTIFY_BYTES);
    // 600 heads of ~35 bytes need 3 messages of 7,900; no fourth one for the entries.
    expect(messages).toHaveLength(Math.ceil((600 * 35) / MAX_NOTIFY_BYTES));
    expect(messages.flatMap((m) => m.heads)).toEqual(heads);
    const inline = messages.flatMap((m) => m.entries ?? []).map(([docId, seq]) => [docId, seq]);
    expect(inline.length).toBeGreaterThan(0);
    expect(inline.length).toBeLessThan(600);
    expect(inline).toEqual(heads.slice(0, inline.length));
  });

  it('leave an entry too large for the message to the log, and carry the ones after it in the next message', () => {
    const small = commits(2, 50);
    const large = commits(1, 6_000);
    const heads = [small.heads[0]!, large.heads[0]!, small.heads[1]!];
    const entries = [small.entries[0]!, large.entries[0]!, small.entries[1]!];
    const messages = received(packDoorbells(NODE, heads, entries, MAX_NOTIFY_BYTES), MAX_NOTIFY_BYTES);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.heads).toEqual(heads);
    // The large entry does not fit next to the first: it and the ones after it wait for a next message, and there is none.
    expect(messages[0]!.entries?.map(([docId]) => docId)).toEqual([small.heads[0]![0]]);
    // On a bus that takes 64 KiB (Redis) all three ride along.
    const roomy = received(packDoorbells(NODE, heads, entries, 64 * 1024), 64 * 1024);
    expect(roomy[0]!.entries?.map(([docId]) => docId)).toEqual(heads.map(([docId]) => docId));
  });
});

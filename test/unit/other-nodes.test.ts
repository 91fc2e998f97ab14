/**
 * Other nodes' commits reaching a room (server/sync/doc-room/other-nodes.ts) while a catch-up's
 * read of the log does not return: the database is slow or unreachable from this node, the bus
 * is not. The read is held by the test, so the order of events is exact.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../db/repositories/doc-log';
import { createLogger } from '../../server/logger';
import type { DocStore } from '../../server/sync/doc-store';
import { RoomMembers } from '../../server/sync/doc-room/members';
import { RoomOplog } from '../../server/sync/doc-room/oplog';
import { OtherNodeEdits } from '../../server/sync/doc-room/other-nodes';
import { StoredLog } from '../../server/sync/doc-room/stored-log';
import { TEXT, appendEdit, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

type Read = { snapshot: null; log: LogEntry[] };

async function room() {
  const oplog = await RoomOplog.load({ snapshot: null, log: [], headSeq: 0 });
  const stored = new StoredLog(null, [], 0);
  const reads: { afterSeq: number; answer: (read: Read) => void }[] = [];
  const store = {
    readSince: (_docId: string, afterSeq: number) => new Promise<Read>((answer) => reads.push({ afterSeq, answer })),
  } as unknown as DocStore;
  const sources: string[] = [];
  // One member on this node: what it is sent, update by update.
  const relayed: Uint8Array[] = [];
  const members = new RoomMembers('doc');
  members.add({ connectionId: 1, deliver: (relay) => relayed.push(...relay.updates), evict: () => {} }, false);
  const other = new OtherNodeEdits({
    docId: 'doc',
    log: createLogger('silent'),
    store,
    oplog,
    stored,
    members,
    onOtherNodesEntry: (source) => sources.push(source),
    onEntries: () => {},
    onSettled: () => {},
  });
  /** The room's text, read from a copy of its oplog. */
  const text = (): string => {
    const copy = new LoroDoc();
    const version = new LoroDoc().oplogVersion();
    copy.import(oplog.exportFrom(version));
    return copy.getText(TEXT).toString();
  };
  return { other, stored, reads, sources, relayed, text };
}

describe('other nodes’ entries while a catch-up reads the log', () => {
  it('applies the next entry a doorbell carries at once, and the catch-up then skips it', async () => {
    const { other, stored, reads, sources, relayed, text } = await room();
    const writer = new LoroDoc();
    const first = appendEdit(writer, 'one ');
    const second = appendEdit(writer, 'two');

    other.knownHead(2); // a catch-up starts; its read does not return yet
    expect(reads).toHaveLength(1);
    other.offerEntry(1, [first]);
    expect(stored.appliedSeq).toBe(1);
    expect(text()).toBe('one ');
    expect(sources).toEqual(['log read', 'doorbell']);

    // The read returns what it found: entry 1 again (skipped) and entry 2.
    reads[0]!.answer({
      snapshot: null,
      log: [
        { seq: 1, updates: [first] },
        { seq: 2, updates: [second] },
      ],
    });
    await waitFor(() => !other.busy, { what: 'the catch-up to end' });
    expect(stored.appliedSeq).toBe(2);
    expect(text()).toBe(textOf(writer));
    expect(reads).toHaveLength(1); // the doorbell asked for no second read
    expect(relayed).toEqual([first, second]); // each once, in order
  });

  it('still reads the log for an entry past a gap', async () => {
    const { other, stored, reads } = await room();
    const writer = new LoroDoc();
    const first = appendEdit(writer, 'one ');
    const second = appendEdit(writer, 'two');
    other.offerEntry(2, [second]);
    expect(stored.appliedSeq).toBe(0);
    expect(reads.map((r) => r.afterSeq)).toEqual([0]);
    reads[0]!.answer({
      snapshot: null,
      log: [
        { seq: 1, updates: [first] },
        { seq: 2, updates: [second] },
      ],
    });
    await waitFor(() => stored.appliedSeq === 2, { what: 'the catch-up' });
  });
});

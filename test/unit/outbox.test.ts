/**
 * The client's outbox (shared/client/outbox.ts) with real Loro documents and no server:
 * what it keeps, saves, merges and sends again.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxStore } from '../../shared/client/outbox';
import { BATCH_PAYLOAD_BYTES } from '../../shared/protocol/index';
import { appendEdit, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

/** An outbox store in memory that records every save, and whose saves finish when told. */
class RecordingStore implements OutboxStore {
  saved = new Map<string, Uint8Array[]>();
  saves: Uint8Array[][] = [];
  errors: unknown[] = [];
  hold = false;
  private held: (() => void)[] = [];

  async load(docId: string): Promise<Uint8Array[]> {
    return this.saved.get(docId) ?? [];
  }

  async save(docId: string, updates: readonly Uint8Array[]): Promise<void> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    this.saves.push([...updates]);
    this.saved.set(docId, [...updates]);
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
}

async function started(doc = new LoroDoc(), store = new RecordingStore()) {
  const outbox = new Outbox({ docId: 'doc', doc, store, onError: (e) => store.errors.push(e) });
  await outbox.restore();
  const off = doc.subscribeLocalUpdates((u) => outbox.addLocalCommit(u));
  return { doc, store, outbox, off };
}

const textOfUpdates = (updates: Uint8Array[]): string => {
  const doc = new LoroDoc();
  doc.importBatch(updates);
  return textOf(doc);
};

describe('outbox', () => {
  it('sends a backlog of local commits as one merged update, and keeps the merge for resends', async () => {
    const { doc, outbox } = await started();
    for (const ch of 'hello') appendEdit(doc, ch);
    expect(outbox.size).toBe(5);
    const batch = outbox.takeBatch()!;
    expect(batch.updates).toHaveLength(1);
    expect(textOfUpdates(batch.updates)).toBe('hello');
    expect(outbox.size).toBe(1); // merged in the outbox too
    expect(outbox.takeBatch()).toBeNull();
    outbox.socketLost();
    const again = outbox.takeBatch()!;
    expect(again.updates).toEqual(batch.updates);
    expect(again.id).not.toBe(batch.id);
  });

  it('does not merge across an update made elsewhere, and keeps the order', async () => {
    const { doc, outbox } = await started();
    appendEdit(doc, 'a');
    appendEdit(doc, 'b');
    const other = new LoroDoc();
    other.import(doc.export({ mode: 'update' }));
    const foreign = appendEdit(other, 'X');
    doc.import(foreign);
    outbox.addUpdate(foreign);
    appendEdit(doc, 'c');
    appendEdit(doc, 'd');
    const batch = outbox.takeBatch()!;
    expect(batch.updates).toHaveLength(3); // ab, X, cd
    expect(batch.updates[1]).toBe(foreign);
    expect(textOfUpdates(batch.updates)).toBe('abXcd');
  });

  it('drops entries only when their batch is acknowledged, and sends a refused batch again', async () => {
    const { doc, outbox } = await started();
    appendEdit(doc, 'one');
    const first = outbox.takeBatch()!;
    appendEdit(doc, 'two');
    const second = outbox.takeBatch()!;
    expect(outbox.inFlightCount).toBe(2);
    expect(outbox.sendAgain(second.id)).toBe(true);
    expect(outbox.acknowledge(first.id)).toEqual(first.updates);
    expect(outbox.acknowledge(first.id)).toBeNull(); // a repeated Ack is ignored
    expect(outbox.size).toBe(1);
    const resent = outbox.takeBatch()!;
    expect(resent.updates).toEqual(second.updates);
    expect(outbox.acknowledge(resent.id)).toEqual(second.updates);
    expect(outbox.size).toBe(0);
  });

  it('packs as many entries as fit one frame into a batch', async () => {
    const { outbox } = await started();
    const big = new LoroDoc();
    const parts = Array.from({ length: 3 }, () => appendEdit(big, 'x'.repeat(Math.floor(BATCH_PAYLOAD_BYTES / 2.5))));
    for (const p of parts) outbox.addUpdate(p);
    expect(outbox.takeBatch()!.updates).toHaveLength(2);
    expect(outbox.takeBatch()!.updates).toHaveLength(1);
    expect(outbox.takeBatch()).toBeNull();
  });

  it('keeps one entry for what the server lacked at the last join, replaced at each join', async () => {
    const { outbox } = await started();
    const a = appendEdit(new LoroDoc(), 'a');
    const b = appendEdit(new LoroDoc(), 'b');
    outbox.replaceMissing(a);
    outbox.replaceMissing(b);
    expect(outbox.size).toBe(1);
    expect(outbox.takeBatch()!.updates).toEqual([b]);
    outbox.replaceMissing(null);
    expect(outbox.size).toBe(0);
  });

  it('saves once per task, in order, and restores what it saved into a new document', async () => {
    const store = new RecordingStore();
    const { doc, outbox, off } = await started(new LoroDoc(), store);
    store.hold = true;
    appendEdit(doc, 'a');
    appendEdit(doc, 'b');
    await new Promise((resolve) => setImmediate(resolve)); // the next task
    appendEdit(doc, 'c');
    store.release();
    await waitFor(() => store.saves.length === 2 && store.saves.at(-1)!.length === 3, { what: 'two saves' });
    expect(store.saves.map((s) => s.length)).toEqual([2, 3]); // never an older outbox after a newer one
    off();
    expect(outbox.size).toBe(3);
    const restored = await started(new LoroDoc(), store);
    expect(restored.outbox.size).toBe(3);
    expect(textOf(restored.doc)).toBe('abc');
    // Restored entries have no span: they go as saved, not merged.
    expect(restored.outbox.takeBatch()!.updates).toHaveLength(3);
    expect(store.errors).toEqual([]);
  });

  it('reports a failed save and goes on', async () => {
    const errors: unknown[] = [];
    const doc = new LoroDoc();
    const failing: OutboxStore = { load: async () => [], save: async () => Promise.reject(new Error('disk full')) };
    const outbox = new Outbox({ docId: 'doc', doc, store: failing, onError: (e) => errors.push(e) });
    await outbox.restore();
    doc.subscribeLocalUpdates((u) => outbox.addLocalCommit(u));
    appendEdit(doc, 'kept');
    await waitFor(() => errors.length === 1, { what: 'the save error' });
    expect(String(errors[0])).toContain('disk full');
    expect(outbox.size).toBe(1);
  });
});

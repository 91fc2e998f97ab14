/**
 * Several Loro blobs go into a document with state one import at a time (`importEach`):
 * Loro's `importBatch` checks the state out afterwards, quadratic in the text inserts it
 * replays, and a compaction of pasted mebibytes ran the heavy-work thread's WebAssembly out of
 * memory (shared/import-updates.ts has the figures).
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { WorkerCompactor } from '../../server/sync/compactor';
import { TEXT_CONTAINER } from '../../shared/document';
import { importEach } from '../../shared/import-updates';
import { pasted, updatesOf } from '../helpers/traces';

describe('importing several blobs', () => {
  it('a document of twelve pasted mebibytes compacts and exports its text in the heavy-work thread', async () => {
    const { doc, updates } = updatesOf(12, (d) => {
      const text = d.getText(TEXT_CONTAINER);
      text.insert(text.length, pasted(1 << 20));
    });
    const expected = doc.getText(TEXT_CONTAINER).toString();
    const compactor = new WorkerCompactor();
    try {
      const { snapshot, textBytes } = await compactor.snapshot(updates);
      expect(textBytes).toBe(12 << 20);
      const compacted = new LoroDoc();
      compacted.import(snapshot);
      expect(compacted.getText(TEXT_CONTAINER).toString() === expected).toBe(true);
      expect((await compactor.text(updates)) === expected).toBe(true);
    } finally {
      await compactor.close();
    }
  }, 60_000);

  it('imports every blob it can, then throws the last error as importBatch does', () => {
    const { doc, updates } = updatesOf(2, (d, i) => d.getText(TEXT_CONTAINER).insert(0, `${i}`));
    const target = new LoroDoc();
    expect(() => importEach(target, [updates[0]!, new Uint8Array([1, 2, 3]), updates[1]!])).toThrow();
    expect(target.getText(TEXT_CONTAINER).toString()).toBe(doc.getText(TEXT_CONTAINER).toString());
  });

  it('an update that arrives before its dependency applies once the dependency does', () => {
    const { doc, updates } = updatesOf(3, (d, i) => {
      const text = d.getText(TEXT_CONTAINER);
      text.insert(text.length, pasted(64 * 1024).slice(0, 1000 + i));
    });
    const target = new LoroDoc();
    const events: number[] = [];
    target.subscribe((event) => events.push(event.events.length));
    importEach(target, [updates[2]!, updates[1]!, updates[0]!]);
    expect(target.getText(TEXT_CONTAINER).toString()).toBe(doc.getText(TEXT_CONTAINER).toString());
    expect(target.oplogVersion().compare(doc.oplogVersion())).toBe(0);
    // Subscribers hear the change (here all of it on the import that completed it).
    expect(events.length).toBeGreaterThan(0);
  });
});

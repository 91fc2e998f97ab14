/**
 * The heavy-work thread's queue is bounded for what people ask for: past MAX_WAITING waiting
 * jobs, exports, versions, restores and snapshot checks are refused as `busy` (503 with a
 * Retry-After), while compactions still wait their turn. A failed job replaces the thread.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/errors';
import { MAX_WAITING, WorkerCompactor } from '../../server/sync/compactor';
import { TEXT_CONTAINER } from '../../shared/document';

/** A document holding "hello", as a snapshot. */
function helloParts(): Uint8Array[] {
  const doc = new LoroDoc();
  doc.getText(TEXT_CONTAINER).insert(0, 'hello');
  doc.commit();
  return [doc.export({ mode: 'snapshot' })];
}

describe('heavy-work queue', () => {
  it('refuses what people ask for as busy once MAX_WAITING jobs wait; compactions still wait their turn', async () => {
    const compactor = new WorkerCompactor();
    try {
      const parts = helloParts();
      // One job runs, MAX_WAITING wait, the rest are refused at once.
      const asked = Array.from({ length: MAX_WAITING + 3 }, () => compactor.text(parts).catch((error: unknown) => error));
      const compaction = compactor.snapshot(parts);
      const outcomes = await Promise.all(asked);
      const refused = outcomes.filter((o) => o instanceof DomainError);
      expect(refused.map((e) => [e.code, e.retryAfter])).toEqual([
        ['busy', 5],
        ['busy', 5],
      ]);
      expect(outcomes.filter((o) => o === 'hello')).toHaveLength(MAX_WAITING + 1);
      const compacted = new LoroDoc();
      compacted.import((await compaction).snapshot);
      expect(compacted.getText(TEXT_CONTAINER).toString()).toBe('hello');
      // Drained, it takes requests again.
      expect(await compactor.text(parts)).toBe('hello');
    } finally {
      await compactor.close();
    }
  });

  it('a failed job gets the next job a fresh thread (a Loro panic leaves its WebAssembly unusable and its memory grown)', async () => {
    const compactor = new WorkerCompactor();
    try {
      const parts = helloParts();
      expect(await compactor.text(parts)).toBe('hello');
      expect(compactor.threadsStarted).toBe(1);
      await expect(compactor.text([new Uint8Array([1, 2, 3])])).rejects.toThrow(/text failed/);
      expect(await compactor.text(parts)).toBe('hello');
      expect(compactor.threadsStarted).toBe(2);
    } finally {
      await compactor.close();
    }
  });
});

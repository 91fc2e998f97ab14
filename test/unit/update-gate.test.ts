/**
 * The update gate's answers when the snapshot check in the heavy-work thread does not return a
 * result: a Loro panic (the thread is replaced) refuses the snapshot as malformed, so its
 * sender does not resend it; a timeout refuses it as too large; anything else is `unavailable`.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { HeavyWorkPanic, HeavyWorkTimeout, isLoroPanic } from '../../server/errors';
import { admitUpdates } from '../../server/sync/update-gate';
import { UpdateStatus } from '../../shared/protocol/index';
import { TEXT_CONTAINER } from '../../shared/document';

const options = { maxOpsPerUpdate: 1_000, maxDocumentTextBytes: 1 << 20, maxDocumentBytes: 1 << 22 };

function snapshot(): Uint8Array {
  const doc = new LoroDoc();
  doc.getText(TEXT_CONTAINER).insert(0, 'hello');
  doc.commit();
  return doc.export({ mode: 'snapshot' });
}

describe('update gate, when the snapshot check fails', () => {
  it('a Loro panic refuses the snapshot as malformed; a timeout as too large; anything else as unavailable', async () => {
    const outcome = (error: Error) => admitUpdates([snapshot()], () => null, { options, checkSnapshot: () => Promise.reject(error) });
    expect(await outcome(new HeavyWorkPanic('check_snapshot', 'unreachable'))).toMatchObject({ ok: false, reason: 'malformed', status: UpdateStatus.InvalidUpdate });
    expect(await outcome(new HeavyWorkTimeout('check_snapshot', 30_000))).toMatchObject({ ok: false, reason: 'too_large', status: UpdateStatus.PayloadTooLarge });
    expect(await outcome(new Error('the heavy-work thread is closed'))).toMatchObject({ ok: false, reason: 'unavailable', status: UpdateStatus.Unknown });
  });

  it('tells a Loro panic (its WebAssembly trap, its out-of-memory error) from other errors', () => {
    expect(isLoroPanic(new WebAssembly.RuntimeError('unreachable'))).toBe(true);
    expect(isLoroPanic(new Error('loro-crdt: out of WASM memory: allocation of 131072 bytes failed'))).toBe(true);
    expect(isLoroPanic(new Error('Decode error'))).toBe(false);
  });
});

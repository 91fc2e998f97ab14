/**
 * What a batch of document updates must pass before its room imports any of it: the update
 * check (update-check.ts: Tandem's containers and marks, operations and characters per update)
 * and the document's size limits. A batch is taken whole or refused whole, with a named
 * reason: refused updates are neither stored nor relayed. The reason travels as the Ack's
 * status (content → `invalid_update`, size → `payload_too_large`), and by name in the log and
 * in /metrics `tandem_limit_hits_total{limit="update_<reason>"}`.
 */
import { UpdateStatus } from '../../shared/protocol/index';
import type { SyncOptions } from '../config';
import { HeavyWorkPanic, HeavyWorkTimeout } from '../errors';
import type { DocRoom } from './doc-room';
import { checkUpdate, type UpdateCheck, type UpdateLimits, type UpdateRefusal } from './update-check';

/** Why a batch was refused: the update check's reasons, or the document's size. */
export type GateRefusal = UpdateRefusal | 'document_too_large';

export type GateOutcome = { ok: true } | { ok: false; reason: GateRefusal; detail: string; status: UpdateStatus } | { ok: false; reason: 'unavailable'; detail: string; status: UpdateStatus };

export interface UpdateGateDeps {
  options: Pick<SyncOptions, 'maxOpsPerUpdate' | 'maxDocumentTextBytes' | 'maxDocumentBytes'>;
  /** Checks a snapshot off the event loop (the heavy-work thread). */
  checkSnapshot: (bytes: Uint8Array, limits: UpdateLimits) => Promise<UpdateCheck>;
}

const statusOf = (reason: GateRefusal): UpdateStatus =>
  reason === 'too_many_ops' || reason === 'too_large' || reason === 'document_too_large' ? UpdateStatus.PayloadTooLarge : UpdateStatus.InvalidUpdate;

const refuse = (reason: GateRefusal, detail: string): GateOutcome => ({ ok: false, reason, detail, status: statusOf(reason) });

/** Checks `updates` for `room`; resolves with whether the room may import them. */
export async function admitUpdates(updates: readonly Uint8Array[], room: () => DocRoom | null, deps: UpdateGateDeps): Promise<GateOutcome> {
  const { options } = deps;
  const limits: UpdateLimits = { maxOps: options.maxOpsPerUpdate, maxAtoms: options.maxDocumentTextBytes };
  let inserted = 0;
  for (const update of updates) {
    let result = checkUpdate(update, limits);
    if (result.ok === 'needs_worker') {
      try {
        result = await deps.checkSnapshot(update, limits);
      } catch (error) {
        // Too big to check in the time budget is too big to take.
        if (error instanceof HeavyWorkTimeout) return refuse('too_large', `a snapshot that takes over ${error.budgetMs} ms to check`);
        if (error instanceof HeavyWorkPanic) return refuse('malformed', 'a snapshot that makes the CRDT library fail');
        return { ok: false, reason: 'unavailable', detail: String(error), status: UpdateStatus.Unknown };
      }
    }
    if (!result.ok) return refuse(result.reason, result.detail);
    inserted += result.insertedBytes;
  }
  // Read after the checks: a snapshot check awaited, and the room may have moved meanwhile.
  const target = room();
  if (!target) return { ok: true };
  const bytes = updates.reduce((n, u) => n + u.length, 0);
  const size = target.size();
  if (size.storedBytes + bytes > options.maxDocumentBytes) {
    target.remeasure();
    return refuse('document_too_large', `the document would take more than ${options.maxDocumentBytes} bytes`);
  }
  if (size.textBytesBound + inserted > options.maxDocumentTextBytes) {
    // The bound counts deleted text until the next compaction: fold now, so it is exact for the next update.
    target.remeasure();
    return refuse('document_too_large', `the document would hold more than ${options.maxDocumentTextBytes} bytes of text`);
  }
  return { ok: true };
}

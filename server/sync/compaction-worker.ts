/**
 * Worker thread of `compactor.ts`: a document's heavy work, away from the event loop that
 * serves every other room. One job at a time; the host replaces this thread when a job
 * outlives its time budget or fails.
 */
import { parentPort } from 'node:worker_threads';
import { LoroDoc, VersionVector, type PeerID } from 'loro-crdt';
import { TEXT_CONTAINER } from '../../shared/document';
import { isLoroPanic } from '../errors';
import { importEach } from '../../shared/import-updates';
import { checkSnapshot, type UpdateLimits } from './update-check';
import type { VersionJson } from '../history/version-groups';
import { diffVersions, restoreUpdate, updateOfRuns, versionContent, type RichRun, type VersionAt } from '../history/version-work';

export type HeavyJob =
  /** A Loro snapshot of the document made of `parts` (+ updates still waiting), and its text size. */
  | { kind: 'snapshot'; parts: Uint8Array[]; shallowAt?: VersionJson | null }
  /** The document's text. */
  | { kind: 'text'; parts: Uint8Array[] }
  /** The check of a snapshot a client sent (see update-check.ts). */
  | { kind: 'check_snapshot'; bytes: Uint8Array; limits: UpdateLimits }
  /** The text, formatting and authors at a version (see `server/history/version-work.ts`). */
  | { kind: 'version'; at: VersionAt; authors: boolean }
  /** A word diff of two versions' texts. */
  | { kind: 'diff'; from: VersionAt; to: VersionAt }
  /** The update that restores a version as a new change. */
  | { kind: 'restore'; parts: Uint8Array[]; version: VersionJson | null }
  /** A new document's first update, from formatted text. */
  | { kind: 'from_runs'; runs: RichRun[] };

function run(job: HeavyJob): { result: unknown; transfer: ArrayBuffer[] } {
  switch (job.kind) {
    case 'check_snapshot':
      return { result: checkSnapshot(job.bytes, job.limits), transfer: [] };
    case 'version':
      return { result: versionContent(job.at, job.authors), transfer: [] };
    case 'diff':
      return { result: diffVersions(job.from, job.to), transfer: [] };
    case 'restore':
      return { result: restoreUpdate(job.parts, job.version), transfer: [] };
    case 'from_runs':
      return { result: updateOfRuns(job.runs), transfer: [] };
    case 'snapshot':
    case 'text':
      break;
    default:
      throw new Error(`unknown job ${String((job as { kind: unknown }).kind)}`);
  }
  const doc = new LoroDoc();
  try {
    importEach(doc, job.parts);
    const text = doc.getText(TEXT_CONTAINER).toString();
    if (job.kind === 'text') return { result: text, transfer: [] };
    // Retention: history before `shallowAt` is dropped, the state there kept (a shallow snapshot).
    const snapshot = job.kind === 'snapshot' && job.shallowAt ? shallowSnapshot(doc, job.shallowAt) : doc.export({ mode: 'snapshot' });
    // Updates whose dependencies never arrived are not in a snapshot: keep them beside it.
    const pending = doc.exportPendingUpdates() ?? null;
    return { result: { snapshot, pending, textBytes: Buffer.byteLength(text, 'utf8') }, transfer: [snapshot.buffer as ArrayBuffer] };
  } finally {
    doc.free();
  }
}

function shallowSnapshot(doc: LoroDoc, at: VersionJson): Uint8Array {
  const frontiers = doc.vvToFrontiers(new VersionVector(new Map(Object.entries(at) as [PeerID, number][])));
  return doc.export({ mode: 'shallow-snapshot', frontiers });
}

parentPort?.on('message', ({ id, job }: { id: number; job: HeavyJob }) => {
  try {
    const { result, transfer } = run(job);
    parentPort?.postMessage({ id, result }, transfer);
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error), panic: isLoroPanic(error) });
  }
});

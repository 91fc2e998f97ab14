/** Worker thread of `compactor.ts`: turns a document's parts into one Loro snapshot (+ pending updates). */
import { parentPort } from 'node:worker_threads';
import { LoroDoc } from 'loro-crdt';

type Request = { id: number; parts: Uint8Array[] };

parentPort?.on('message', ({ id, parts }: Request) => {
  const doc = new LoroDoc();
  try {
    doc.importBatch(parts);
    const snapshot = doc.export({ mode: 'snapshot' });
    // Updates whose dependencies never arrived are not in a snapshot: keep them beside it.
    const pending = doc.exportPendingUpdates() ?? null;
    parentPort?.postMessage({ id, snapshot, pending }, [snapshot.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  } finally {
    doc.free();
  }
});

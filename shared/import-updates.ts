/**
 * Imports several Loro blobs into a document that has state (not detached): one `import` each,
 * in the order given, never `importBatch`.
 *
 * `importBatch` imports into the oplog detached, then checks the state out to the latest
 * version, and that checkout is quadratic in the text inserts it replays (loro-crdt 1.17.1,
 * measured 2026-12-06): two updates of 8,192 appended 32-character pieces import in 2 ms one
 * by one and in 7 s as a batch; two pasted 256 KiB texts in 10 ms and 7 s; twelve pasted
 * mebibytes (a compaction of the document they make) ran the WebAssembly out of memory. On a
 * long history of small entries one by one costs the same: automerge-paper as 4,060 entries of
 * 64 edits, 290 ms against 283 ms; as its 259,779 one-patch updates, 12.8 s against 18.2 s
 * (`npm run bench -- --only import`).
 *
 * Dependencies still resolve: an update whose dependencies are missing waits in the oplog and
 * applies when they arrive, as in a batch. Put snapshots first (an empty document imports one
 * lazily). A detached document (the server's rooms, update-check.ts's scratch) never checks
 * out, so `importBatch` stays fine there. The document's subscribers hear one event per blob.
 */
import type { LoroDoc } from 'loro-crdt';

/** Imports every blob it can; then throws the last error, if any (as `importBatch` does). */
export function importEach(doc: LoroDoc, blobs: readonly Uint8Array[]): void {
  let failure: { error: unknown } | null = null;
  for (const blob of blobs) {
    try {
      doc.import(blob);
    } catch (error) {
      failure = { error };
    }
  }
  if (failure) throw failure.error;
}

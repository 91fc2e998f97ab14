/**
 * Several Loro blobs into a document with state: one `import` each (`importEach`, what Tandem
 * does: compactions, exports, history, the client's remote batches) against Loro's
 * `importBatch`, whose checkout afterwards is quadratic in the text inserts it replays.
 * Target: one by one never more than 10% slower. In-process, pure CPU; medians of 3 runs.
 */
import { LoroDoc } from 'loro-crdt';
import { importEach } from '../../shared/import-updates';
import { percentile, round } from './stats';
import { TEXT, applyPatch, loadSequentialTrace, pasted, patchesOf, updatesOf } from '../helpers/traces';

export interface ImportCase {
  name: string;
  blobs: number;
  bytes: number;
  eachMs: number;
  batchMs: number;
}

/** One update per call of `edit`. */
function updatesOnly(edits: number, edit: (doc: LoroDoc, i: number) => void): Uint8Array[] {
  const { doc, updates } = updatesOf(edits, edit);
  doc.free();
  return updates;
}

function timed(blobs: Uint8Array[], load: (doc: LoroDoc, blobs: Uint8Array[]) => void): number {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const doc = new LoroDoc();
    const started = performance.now();
    load(doc, blobs);
    doc.getText(TEXT).length; // the state is there
    runs.push(performance.now() - started);
    doc.free();
  }
  return round(percentile(runs, 50), 1);
}

export function importEachCost(): ImportCase[] {
  const paper = [...patchesOf(loadSequentialTrace('automerge-paper'))];
  /** automerge-paper as a server's log entries: 64 edits each. */
  const entries: Uint8Array[] = [];
  {
    const doc = new LoroDoc();
    const text = doc.getText(TEXT);
    for (let i = 0; i < paper.length; i += 64) {
      const before = doc.oplogVersion();
      for (const patch of paper.slice(i, i + 64)) applyPatch(text, patch);
      doc.commit();
      entries.push(doc.export({ mode: 'update', from: before }));
    }
    doc.free();
  }
  const cases: [string, Uint8Array[]][] = [
    ['two pasted texts of 128 KiB', updatesOnly(2, (d) => d.getText(TEXT).insert(d.getText(TEXT).length, pasted(128 * 1024)))],
    [
      'two updates of 2,048 appended 32-character pieces',
      updatesOnly(2, (d) => {
        for (let i = 0; i < 2_048; i++) d.getText(TEXT).insert(d.getText(TEXT).length, pasted(32));
      }),
    ],
    ['automerge-paper as 64-edit log entries', entries],
  ];
  return cases.map(([name, blobs]) => ({
    name,
    blobs: blobs.length,
    bytes: blobs.reduce((n, b) => n + b.length, 0),
    eachMs: timed(blobs, importEach),
    batchMs: timed(blobs, (doc, b) => doc.importBatch(b)),
  }));
}

export function importEachTable(cases: readonly ImportCase[]): string {
  const rows = cases.map((c) => `| ${c.name} | ${c.blobs} | ${round(c.bytes / 1024, 0)} KiB | ${c.eachMs} ms | ${c.batchMs} ms |`);
  return ['| blobs into an empty document | blobs | bytes | one by one (Tandem) | importBatch |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

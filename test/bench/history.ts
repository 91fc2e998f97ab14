/**
 * Version history on automerge-paper's whole history (259,778 edits, 104,852 characters):
 * listing versions, opening one, comparing two, restoring one, through the REST API of a
 * built server. Targets (issue 19, 2-core machine): list < 200 ms, open < 300 ms.
 *
 * The document is stored as a busy server leaves it: 20 edits per log entry (13k entries),
 * two seconds apart, in writing sessions of 500 entries an hour apart, by two peers taking
 * turns; compacted (its versions stored) up to the last 400 entries, which stay in the log.
 */
import { LoroDoc } from 'loro-crdt';
import type { DatabaseHandle } from '../../db/open-database';
import { readLogAfter, recordPeers, replaceSnapshot } from '../../db/repositories/doc-log';
import { insertDocument } from '../../db/repositories/documents';
import { encodeUpdateBatch } from '../../db/update-batch';
import { storeVersions } from '../../server/history/version-index';
import { newDocumentId } from '../../shared/ids';
import type { ServerProcess } from '../helpers/server-process';
import { TEXT, applyPatch, loadSequentialTrace, patchesOf } from '../helpers/traces';
import { round, summary } from './stats';

const EDITS_PER_ENTRY = 20;
const ENTRIES_PER_SESSION = 500;
const TAIL_ENTRIES = 400;

export interface HistoryResult {
  entries: number;
  versions: number;
  listMs: ReturnType<typeof summary>;
  openMs: ReturnType<typeof summary>;
  openWithAuthorsMs: ReturnType<typeof summary>;
  diffMs: ReturnType<typeof summary>;
  restoreMs: ReturnType<typeof summary>;
}

/** Stores automerge-paper as described above; returns the document id and its final text. */
export async function seedHistory(db: DatabaseHandle, ownerId: string): Promise<{ id: string; text: string; entries: number }> {
  const id = newDocumentId();
  await insertDocument(db.db, id);
  await db.db.updateTable('documents').set({ owner_id: ownerId }).where('id', '=', id).execute();
  await db.db.insertInto('document_members').values({ doc_id: id, user_id: ownerId, role: 'owner' }).execute();
  const doc = new LoroDoc();
  const text = doc.getText(TEXT);
  const patches = [...patchesOf(loadSequentialTrace('automerge-paper'))];
  const peers = [1001n, 1002n];
  const start = Date.now() - 365 * 24 * 3600_000;
  const rows: { doc_id: string; seq: number; updates: Uint8Array; update_count: number; created_at: Date }[] = [];
  const updates: Uint8Array[] = [];
  for (let from = 0; from < patches.length; from += EDITS_PER_ENTRY) {
    const entry = rows.length;
    const session = Math.floor(entry / ENTRIES_PER_SESSION);
    if (entry % ENTRIES_PER_SESSION === 0) doc.setPeerId(peers[session % 2]!);
    const before = doc.oplogVersion();
    for (const patch of patches.slice(from, from + EDITS_PER_ENTRY)) applyPatch(text, patch);
    doc.commit();
    const at = new Date(start + session * 3600_000 + (entry % ENTRIES_PER_SESSION) * 2_000);
    updates.push(doc.export({ mode: 'update', from: before }));
    rows.push({ doc_id: id, seq: entry + 1, updates: encodeUpdateBatch([updates.at(-1)!]), update_count: 1, created_at: at });
  }
  for (let i = 0; i < rows.length; i += 1_000)
    await db.db
      .insertInto('doc_updates')
      .values(rows.slice(i, i + 1_000))
      .execute();
  await db.db.updateTable('documents').set({ head_seq: rows.length }).where('id', '=', id).execute();
  await recordPeers(
    db.db,
    id,
    peers.map((p) => ({ peer: String(p), userId: ownerId, linkId: null })),
  );
  // Compacted up to the tail, as the server does it (versions stored before the log goes).
  const through = rows.length - TAIL_ENTRIES;
  const compacted = new LoroDoc();
  compacted.importBatch(updates.slice(0, through));
  const entries = await readLogAfter(db.db, id, 0);
  await replaceSnapshot(db.db, id, { seq: through, bytes: compacted.export({ mode: 'snapshot' }), pending: null }, (trx) => storeVersions(trx, id, entries, through));
  return { id, text: text.toString(), entries: rows.length };
}

export async function runHistoryBench(server: ServerProcess, seeded: { id: string; text: string; entries: number }, token: string, quick: boolean): Promise<HistoryResult> {
  const api = async (method: string, path: string): Promise<{ ms: number; body: any }> => {
    const started = performance.now();
    const res = await fetch(`${server.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return { ms, body };
  };
  const runs = quick ? 5 : 20;
  const base = `/api/documents/${seeded.id}`;
  const first = await api('GET', `${base}/versions`);
  const versions = first.body.versions as { id: number }[];
  const list: number[] = [];
  for (let i = 0; i < runs; i++) list.push((await api('GET', `${base}/versions`)).ms);
  const picks = [versions.at(-1)!, versions[versions.length >> 1]!, versions[0]!];
  const open: number[] = [];
  const withAuthors: number[] = [];
  for (let i = 0; i < Math.ceil(runs / 3); i++) {
    for (const v of picks) open.push((await api('GET', `${base}/versions/${v.id}?authors=false`)).ms);
    for (const v of picks) withAuthors.push((await api('GET', `${base}/versions/${v.id}`)).ms);
  }
  const latest = await api('GET', `${base}/versions/${versions[0]!.id}`);
  if (latest.body.text !== seeded.text) throw new Error('the latest version is not the final text of the trace');
  const diff: number[] = [];
  for (let i = 0; i < Math.ceil(runs / 4); i++) diff.push((await api('GET', `${base}/versions/${versions[0]!.id}/diff?from=${picks[1]!.id}`)).ms);
  const restore: number[] = [];
  for (const v of [picks[1]!, versions[0]!, picks[0]!]) restore.push((await api('POST', `${base}/versions/${v.id}/restore`)).ms);
  return {
    entries: seeded.entries,
    versions: versions.length,
    listMs: summary(list),
    openMs: summary(open),
    openWithAuthorsMs: summary(withAuthors),
    diffMs: summary(diff),
    restoreMs: summary(restore),
  };
}

export function historyTable(results: readonly (HistoryResult & { backend: string })[]): string {
  const rows: [string, string, (r: HistoryResult) => string][] = [
    ['log entries / versions', '', (r) => `${r.entries} / ${r.versions}`],
    ['list versions p50 / max', '< 200 ms', (r) => `${round(r.listMs.p50)} / ${round(r.listMs.max)} ms`],
    ['open a version (oldest, middle, newest) p50 / max', '< 300 ms', (r) => `${round(r.openMs.p50)} / ${round(r.openMs.max)} ms`],
    ['the same, with who wrote what, p50 / max', '', (r) => `${round(r.openWithAuthorsMs.p50)} / ${round(r.openWithAuthorsMs.max)} ms`],
    ['diff middle → newest p50 / max', '', (r) => `${round(r.diffMs.p50)} / ${round(r.diffMs.max)} ms`],
    ['restore p50 / max', '', (r) => `${round(r.restoreMs.p50)} / ${round(r.restoreMs.max)} ms`],
  ];
  const header = `| figure | target | ${results.map((r) => r.backend).join(' | ')} |\n| --- | --- |${results.map(() => ' --- |').join('')}`;
  return [header, ...rows.map(([name, target, get]) => `| ${name} | ${target} | ${results.map(get).join(' | ')} |`)].join('\n');
}

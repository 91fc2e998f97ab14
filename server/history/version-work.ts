/**
 * The heavy part of the version history, run in the heavy-work thread (`compaction-worker.ts`):
 * building a document as it was at a version, comparing two versions, and making the change
 * that restores one. Every function takes what the database holds of the document (`parts`).
 */
import { diffLines, diffWordsWithSpace } from 'diff';
import { LoroDoc, VersionVector, type Delta, type PeerID } from 'loro-crdt';
import { TEXT_CONTAINER, configureText } from '../../shared/document';
import { importEach } from '../../shared/import-updates';
import type { VersionJson } from './version-groups';

/** A run of text with the same formatting (a Loro text delta's insert). */
export interface RichRun {
  insert: string;
  attributes?: Record<string, unknown>;
}

/** A run of characters written by the same peer. */
export interface AuthorRun {
  peer: string;
  length: number;
}

export interface VersionContent {
  text: string;
  runs: RichRun[];
  /** Who wrote each character, as runs (null when not asked). */
  authors: AuthorRun[] | null;
}

/** A version, and the stored parts of the document that hold it. */
export interface VersionAt {
  parts: Uint8Array[];
  version: VersionJson | null;
  /** Names the parts (document, snapshot and last entry): the same key, the same bytes. */
  key?: string;
}

/**
 * The document last loaded for a keyed request. People browsing a history open one version
 * after another of the same document, and the first export from a loaded document decodes its
 * history (most of the cost); the next ones reuse it.
 */
let kept: { key: string; doc: LoroDoc } | null = null;

/** The document made of `at.parts`, and whether the caller must free it (a kept one it must not). */
function loadedFor(at: VersionAt): { doc: LoroDoc; owned: boolean } {
  if (at.key !== undefined && kept?.key === at.key) return { doc: kept.doc, owned: false };
  const doc = loaded(at.parts);
  // A shallow document is checked out to open a version (see docAt): never kept.
  if (at.key === undefined || doc.isShallow()) return { doc, owned: true };
  kept?.doc.free();
  kept = { key: at.key, doc };
  return { doc, owned: false };
}

export type DiffPart = { op: 'equal' | 'insert' | 'delete'; text: string };

/** Longer texts are sampled for authors every `length / AUTHOR_SAMPLES` characters (see `authorRuns`). */
const AUTHOR_SAMPLES = 20_000;
/** A word diff that takes longer than this falls back to a line diff. */
const WORD_DIFF_TIMEOUT_MS = 2_000;

function loaded(parts: readonly Uint8Array[]): LoroDoc {
  const doc = new LoroDoc();
  importEach(doc, parts);
  return doc;
}

/**
 * A document holding exactly the ops of `version` and what they depend on (null: `full`
 * itself, all of its parts). Exporting that range and importing it into an empty document is
 * several times faster than a checkout on a long history (automerge-paper: ~60 ms against ~300 ms).
 */
function docAt(full: LoroDoc, version: VersionJson | null): LoroDoc {
  if (version === null) return full;
  const frontiers = full.vvToFrontiers(new VersionVector(new Map(Object.entries(version) as [PeerID, number][])));
  // A shallow document (history trimmed) has no ops before its root to export, and Loro cannot
  // fork one: check it out instead (slower, but trimmed histories are short).
  if (full.isShallow()) {
    full.checkout(frontiers);
    return full;
  }
  const closure = full.frontiersToVV(frontiers).toJSON();
  const spans = [...closure].filter(([, counter]) => counter > 0).map(([peer, counter]) => ({ id: { peer, counter: 0 }, len: counter }));
  const doc = new LoroDoc();
  if (spans.length > 0) doc.import(full.export({ mode: 'updates-in-range', spans }));
  return doc;
}

/** The document's text, formatting and (when asked) authors at `version`. */
export function versionContent(at: VersionAt, withAuthors: boolean): VersionContent {
  const { doc: full, owned } = loadedFor(at);
  const doc = docAt(full, at.version);
  try {
    const text = doc.getText(TEXT_CONTAINER);
    const runs = (text.toDelta() as Delta<string>[]).flatMap((d) => (d.insert !== undefined ? [{ insert: d.insert, ...(d.attributes ? { attributes: d.attributes } : {}) }] : []));
    return { text: text.toString(), runs, authors: withAuthors ? authorRuns(text) : null };
  } finally {
    if (doc !== full) doc.free();
    if (owned) full.free();
  }
}

/**
 * Who wrote each character, as runs. Loro answers one position at a time (a few microseconds
 * each); past `AUTHOR_SAMPLES` characters, positions are sampled and each change of author is
 * pinned down by bisection, so a run shorter than the sampling step between two runs of one
 * author can be missed (only in texts that long).
 */
function authorRuns(text: ReturnType<LoroDoc['getText']>): AuthorRun[] {
  const length = text.length;
  if (length === 0) return [];
  const step = Math.max(1, Math.ceil(length / AUTHOR_SAMPLES));
  const editor = (pos: number): string => text.getEditorOf(pos) ?? '';
  const runs: AuthorRun[] = [];
  let runStart = 0;
  let current = editor(0);
  /** The last position known to be `current`'s. */
  let known = 0;
  for (let at = Math.min(step, length - 1); ; at = Math.min(at + step, length - 1)) {
    if (editor(at) === current) known = at;
    else {
      // The author changes somewhere in (known, at]: bisect for the first position that differs.
      let lo = known;
      let hi = at;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (editor(mid) === current) lo = mid;
        else hi = mid;
      }
      runs.push({ peer: current, length: hi - runStart });
      runStart = hi;
      current = editor(hi);
      known = hi;
      at = hi;
    }
    if (at >= length - 1) break;
  }
  runs.push({ peer: current, length: length - runStart });
  return runs.filter((r) => r.length > 0);
}

/**
 * A word diff of the texts at two versions: lines first, then words within each run of changed
 * lines (a word diff of a whole long text is quadratic where the texts differ much; a run
 * whose word diff takes too long stays a line diff).
 */
export function diffVersions(from: VersionAt, to: VersionAt): DiffPart[] {
  const before = versionContent(from, false).text;
  const after = versionContent(to, false).text;
  const parts: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string): void => {
    const last = parts.at(-1);
    if (last && last.op === op) last.text += text;
    else if (text !== '') parts.push({ op, text });
  };
  const lines = diffLines(before, after);
  for (let i = 0; i < lines.length; i++) {
    const change = lines[i]!;
    const next = lines[i + 1];
    if (change.removed && next?.added) {
      const words = diffWordsWithSpace(change.value, next.value, { timeout: WORD_DIFF_TIMEOUT_MS });
      if (words) for (const w of words) push(w.added ? 'insert' : w.removed ? 'delete' : 'equal', w.value);
      else {
        push('delete', change.value);
        push('insert', next.value);
      }
      i++;
    } else push(change.added ? 'insert' : change.removed ? 'delete' : 'equal', change.value);
  }
  return parts;
}

/** A new document's first update holding `runs` (text and marks), made by a fresh peer. */
export function updateOfRuns(runs: readonly RichRun[]): { update: Uint8Array; peer: string } {
  const doc = new LoroDoc();
  try {
    configureText(doc);
    const text = doc.getText(TEXT_CONTAINER);
    text.insert(0, runs.map((r) => r.insert).join(''));
    let pos = 0;
    for (const run of runs) {
      const end = pos + run.insert.length;
      for (const [key, value] of Object.entries(run.attributes ?? {})) if (end > pos) text.mark({ start: pos, end }, key, value);
      pos = end;
    }
    doc.commit();
    return { update: doc.export({ mode: 'update' }), peer: doc.peerIdStr };
  } finally {
    doc.free();
  }
}

/**
 * The update that brings the document back to `version` as a new change on top (history is
 * never rewritten), made by a fresh peer; null when the document already is at that text.
 */
export function restoreUpdate(parts: readonly Uint8Array[], version: VersionJson | null): { update: Uint8Array; peer: string; text: string } | null {
  const doc = loaded(parts);
  try {
    configureText(doc);
    const target = version === null ? doc.oplogFrontiers() : doc.vvToFrontiers(new VersionVector(new Map(Object.entries(version) as [PeerID, number][])));
    const before = doc.oplogVersion();
    const diff = doc.diff(doc.frontiers(), target, false);
    if (diff.length === 0) return null;
    doc.applyDiff(diff, { fullState: true });
    doc.commit();
    if (doc.oplogVersion().compare(before) === 0) return null;
    return { update: doc.export({ mode: 'update', from: before }), peer: doc.peerIdStr, text: doc.getText(TEXT_CONTAINER).toString() };
  } finally {
    doc.free();
  }
}

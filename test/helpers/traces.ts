/**
 * Editing traces from `test/data/traces` (josephg/editing-traces, CC BY 4.0;
 * automerge-paper from automerge-perf) and how to replay them into Loro documents.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LoroDoc, type LoroText } from 'loro-crdt';
import { TEXT_CONTAINER } from '../../shared/document';

export type Patch = [position: number, deleted: number, inserted: string];

export interface SequentialTrace {
  startContent?: string;
  endContent: string;
  txns: { patches: Patch[] }[];
}

export interface ConcurrentTrace {
  kind: 'concurrent';
  endContent: string;
  numAgents: number;
  txns: { parents: number[]; agent: number; patches: Patch[] }[];
}

/** The traces, with their README (attribution), live in the repository so a clean clone has them. */
export const TRACES_DIR = join(import.meta.dirname, '../data/traces');

/** The text container every Tandem document keeps its content in. */
export const TEXT = TEXT_CONTAINER;

const ASTRAL = /[\u{10000}-\u{10FFFF}]/u;

function load<T extends { endContent: string; txns: { patches: Patch[] }[] }>(name: string): T {
  const trace = JSON.parse(gunzipSync(readFileSync(join(TRACES_DIR, `${name}.json.gz`))).toString()) as T;
  // Trace positions count code points; Loro counts UTF-16 units. They agree without astral
  // characters, which is true of every trace we ship; refuse a trace where they would not.
  for (const txn of trace.txns) for (const [, , ins] of txn.patches) if (ASTRAL.test(ins)) throw new Error(`${name}: astral characters`);
  if (ASTRAL.test(trace.endContent)) throw new Error(`${name}: astral characters`);
  return trace;
}

export const loadSequentialTrace = (name: 'automerge-paper' | 'seph-blog1' | 'friendsforever_flat'): SequentialTrace => load<SequentialTrace>(name);
export const loadConcurrentTrace = (name: 'friendsforever-concurrent'): ConcurrentTrace => load<ConcurrentTrace>(name);

/** Applies one patch (splice semantics) to a Loro text. */
export function applyPatch(text: LoroText, [pos, del, ins]: Patch): void {
  if (del > 0) text.delete(pos, del);
  if (ins.length > 0) text.insert(pos, ins);
}

/** The text some patches make from an empty document (a trace's prefix has no endContent). */
export function textAfter(patches: Iterable<Patch>): string {
  const doc = new LoroDoc();
  const text = doc.getText(TEXT);
  for (const patch of patches) applyPatch(text, patch);
  const result = text.toString();
  doc.free();
  return result;
}

/** Every patch of a sequential trace, in order. */
export function* patchesOf(trace: SequentialTrace): Generator<Patch> {
  for (const txn of trace.txns) yield* txn.patches;
}

export function textOf(doc: LoroDoc): string {
  return doc.getText(TEXT).toString();
}

/** Text that neither compresses nor merges, `bytes` long: random words, as a paste brings. */
export const pasted = (bytes: number): string => Array.from({ length: bytes / 8 }, () => Math.random().toString(36).slice(2, 10).padEnd(8, '0')).join('');

/** A fresh document edited `edits` times by `edit`, one commit each, and each commit's update. */
export function updatesOf(edits: number, edit: (doc: LoroDoc, i: number) => void): { doc: LoroDoc; updates: Uint8Array[] } {
  const doc = new LoroDoc();
  const updates: Uint8Array[] = [];
  for (let i = 0; i < edits; i++) {
    const before = doc.oplogVersion();
    edit(doc, i);
    doc.commit();
    updates.push(doc.export({ mode: 'update', from: before }));
  }
  return { doc, updates };
}

/** Appends `text` to a document's text in one commit; returns that commit's update. */
export function appendEdit(doc: LoroDoc, text: string): Uint8Array {
  const before = doc.oplogVersion();
  doc.getText(TEXT).insert(doc.getText(TEXT).length, text);
  doc.commit();
  return doc.export({ mode: 'update', from: before });
}

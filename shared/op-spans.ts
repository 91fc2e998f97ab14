/**
 * Op spans: the ops of one Loro peer from counter `start` up to (not including) `end`. Both
 * sides merge many small updates into one by exporting the spans they cover from the oplog:
 * the server when it writes a commit's updates as one log entry, the client when it sends a
 * backlog of local commits as one update. One Loro import then replaces many, and each
 * update's envelope is paid once.
 */
import type { ImportStatus, LoroDoc, PeerID } from 'loro-crdt';

export interface OpSpan {
  peer: PeerID;
  start: number;
  end: number;
}

/** The spans an import added to the oplog (Loro reports them per peer). */
export function spansOfImport(status: ImportStatus): OpSpan[] {
  const spans: OpSpan[] = [];
  for (const [peer, { start, end }] of status.success) spans.push({ peer, start, end });
  return spans;
}

/** Sorts spans and merges the overlapping or touching ones of the same peer. */
export function mergeSpans(spans: readonly OpSpan[]): OpSpan[] {
  const sorted = [...spans].sort((a, b) => (a.peer === b.peer ? a.start - b.start : a.peer < b.peer ? -1 : 1));
  const out: OpSpan[] = [];
  for (const span of sorted) {
    const last = out.at(-1);
    if (last && last.peer === span.peer && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else out.push({ ...span });
  }
  return out;
}

/** True when `next` starts where `previous` ends, on the same peer (one span can hold both). */
export const continues = (previous: OpSpan, next: OpSpan): boolean => previous.peer === next.peer && next.start === previous.end;

/** One Loro update holding exactly the ops of `spans` (they must be in `doc`'s oplog). */
export function exportSpans(doc: LoroDoc, spans: readonly OpSpan[]): Uint8Array {
  return doc.export({ mode: 'updates-in-range', spans: spans.map((s) => ({ id: { peer: s.peer, counter: s.start }, len: s.end - s.start })) });
}

/** The end of `peer`'s ops in `doc`'s oplog (the counter its next op will get). */
export function opsEnd(doc: LoroDoc, peer: PeerID): number {
  const version = doc.oplogVersion();
  try {
    return version.get(peer) ?? 0;
  } finally {
    version.free();
  }
}

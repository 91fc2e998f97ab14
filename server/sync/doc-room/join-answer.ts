/**
 * The join answer: what a member lacks, given the version it presents. Computed synchronously,
 * so no update can fall between the answer and the member's first relay.
 *
 * A member with nothing gets the whole document: one update exported from the oplog (shared
 * by every such joiner until it falls behind), else the stored bytes. An update, not the
 * snapshot, because of what it costs the client: a Loro document with subscribers (every
 * Tandem client's has: the text binding, undo) imports a snapshot by replaying its history to
 * compute the event, and the same history as an update many times faster (figures in
 * bench-results/README.md). Past WHOLE_EXPORT_MAX_OPS the export would hold the event loop too
 * long, so those go as stored bytes; exporting them in the compaction worker is the next step.
 */
import { VersionVector } from 'loro-crdt';
import { WHOLE_EXPORT_TAIL, type RoomOplog } from './oplog';
import type { StoredLog } from './stored-log';

/** `shared`: the catch-up is the whole document, the same for every joiner until the room changes (its frames can be shared). */
export type JoinOutcome = { ok: true; version: Uint8Array; catchUp: Uint8Array[]; shared: boolean } | { ok: false; reason: 'version_unknown'; version: Uint8Array };

/** The outcome, and whether the answer is stored bytes (see `RoomMembers` on late joiners). */
export type JoinAnswer = Exclude<JoinOutcome, { ok: true }> | (Extract<JoinOutcome, { ok: true }> & { fromStore: boolean });

/** What the room has stored and what it accepted but has not stored yet. */
export interface RoomContents {
  oplog: RoomOplog;
  stored: StoredLog;
  /** Accepted updates not yet committed (in flight, then queued): relayed before the joiner came. */
  unstored(): Uint8Array[];
  unstoredCount(): number;
}

/** A log without snapshot up to this size goes to joiners as stored. */
const SMALL_LOG_BYTES = 64 * 1024;

/** Largest oplog exported whole for a joiner (automerge-paper has 260k ops). */
const WHOLE_EXPORT_MAX_OPS = 400_000;

/**
 * A member lacking more ops than this gets the whole document's shared answer rather than an
 * export of its own (what it already has comes again; Loro skips it): an export per join, on
 * the event loop, would let joins presenting a foreign version again and again hold the node.
 */
export const OWN_EXPORT_MAX_OPS = 10_000;

/** Ops `server` has that `client` lacks, peer by peer. */
function opsLacking(server: VersionVector, client: VersionVector): number {
  const theirs = client.toJSON();
  let lacking = 0;
  for (const [peer, counter] of server.toJSON()) lacking += Math.max(0, counter - (theirs.get(peer) ?? 0));
  return lacking;
}

/** The join answer for a member presenting `clientVersion` (empty: it has nothing). */
export function answerJoin(room: RoomContents, clientVersion: Uint8Array): JoinAnswer {
  const serverVersion = room.oplog.version();
  try {
    const version = serverVersion.encode();
    let catchUp: Uint8Array[];
    let fromStore = false;
    let shared = false;
    if (clientVersion.length === 0) {
      ({ updates: catchUp, fromStore, shared } = everything(room));
    } else {
      let vv: VersionVector;
      try {
        vv = VersionVector.decode(clientVersion);
      } catch {
        return { ok: false, reason: 'version_unknown', version };
      }
      try {
        if (vv.length() === 0) ({ updates: catchUp, fromStore, shared } = everything(room));
        else {
          const cmp = serverVersion.compare(vv);
          // 0: same; -1: the client is strictly ahead (it will send what we lack).
          if (cmp === 0 || cmp === -1) catchUp = [];
          else if (opsLacking(serverVersion, vv) > OWN_EXPORT_MAX_OPS) ({ updates: catchUp, fromStore, shared } = everything(room));
          else catchUp = [room.oplog.exportFrom(vv)];
        }
      } finally {
        vv.free();
      }
    }
    if (room.oplog.hasWaiting) catchUp = [...catchUp, ...room.oplog.stillWaiting()];
    return { ok: true, version, catchUp, fromStore, shared };
  } finally {
    serverVersion.free();
  }
}

/** The whole document, for a member that has nothing. */
function everything(room: RoomContents): { updates: Uint8Array[]; fromStore: boolean; shared: true } {
  const asStored = (): { updates: Uint8Array[]; fromStore: boolean; shared: true } => ({ updates: storedEverything(room), fromStore: true, shared: true });
  if (room.oplog.mayHavePending) return asStored(); // pending ops are not in the oplog's export
  // A trimmed document's export starts past its shallow root: a client with nothing can apply
  // none of it. Its stored bytes start with the shallow snapshot.
  if (room.oplog.isShallow) return asStored();
  // No snapshot and a short, small log: the stored bytes are a few small updates already (a
  // large entry may be a client's snapshot, which is what the export is for).
  const { stored } = room;
  if (!stored.hasSnapshot && stored.tailBytes <= SMALL_LOG_BYTES && stored.tailUpdates + room.unstoredCount() <= WHOLE_EXPORT_TAIL) return asStored();
  const whole = room.oplog.wholeExport(WHOLE_EXPORT_MAX_OPS);
  return whole ? { updates: whole, fromStore: false, shared: true } : asStored();
}

/**
 * The whole document as stored bytes (latest snapshot + the committed log after it), then
 * the accepted updates not yet committed: those were relayed before this member joined.
 */
function storedEverything(room: RoomContents): Uint8Array[] {
  return [...room.stored.bytes(), ...room.unstored()];
}

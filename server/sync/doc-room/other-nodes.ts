/**
 * Edits from other nodes reaching one room: their commits (a doorbell carrying the entry, a
 * doorbell naming a head seq, the periodic head check) and their edits accepted ahead of the
 * commit. Entries are applied strictly in seq order; anything out of order, and anything a
 * doorbell did not carry, is read from the log (one catch-up at a time, again if asked meanwhile).
 *
 * Relay rules: what brings this room new ops goes to every member; what brings nothing goes
 * only to the late joiners (see `RoomMembers`).
 */
import type { Logger } from '../../logger';
import type { DocStore } from '../doc-store';
import type { RoomMembers } from './members';
import { broughtSomething, type RoomOplog } from './oplog';
import type { StoredLog } from './stored-log';

export interface OtherNodeEditsOptions {
  docId: string;
  log: Logger;
  store: DocStore;
  oplog: RoomOplog;
  stored: StoredLog;
  members: RoomMembers;
  /** Another node's commit reached this room: applied from its doorbell, or read from the log. */
  onOtherNodesEntry: (source: 'doorbell' | 'log read') => void;
  /** Entries were added to the stored log (compaction may be due). */
  onEntries: () => void;
  /** A catch-up ended with none asked meanwhile (the room may be idle). */
  onSettled: () => void;
}

export class OtherNodeEdits {
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private foreign = false;
  private closed = false;

  constructor(private readonly options: OtherNodeEditsOptions) {}

  /** True while a catch-up reads the log. */
  get busy(): boolean {
    return this.catchingUp !== null;
  }

  /**
   * True once another node's edits were imported ahead of their commit. From then on this
   * room's memory may hold ops no database has (their node may die before storing them).
   */
  get foreignEdits(): boolean {
    return this.foreign;
  }

  /** The log reaches `seq`: read what this node lacks. */
  knownHead(seq: number): void {
    if (seq > this.options.stored.appliedSeq) this.requestCatchUp();
  }

  /**
   * A log entry another node committed, carried by its doorbell: applied at once when it is
   * the next one, even while a catch-up reads the log (the catch-up skips what is applied by the
   * time its read returns; waiting for it would leave the entry unapplied for as long as the
   * database does not answer); anything else (a gap) goes through the log.
   */
  offerEntry(seq: number, updates: Uint8Array[]): void {
    const { stored, oplog, members, log, docId } = this.options;
    if (this.closed || seq <= stored.appliedSeq) return;
    if (seq !== stored.appliedSeq + 1 || stored.isOwnAhead(seq)) {
      this.requestCatchUp();
      return;
    }
    let brought: boolean;
    try {
      brought = broughtSomething(oplog.importBatch(updates));
    } catch (error) {
      log.warn('doc.offered_entry_invalid', { docId, seq, error });
      this.requestCatchUp();
      return;
    }
    stored.appliedOther({ seq, updates });
    this.options.onOtherNodesEntry('doorbell');
    if (brought) members.relay(updates);
    else members.relayToLateJoiners(updates);
    this.options.onEntries();
  }

  /**
   * Edits another node accepted and has not stored yet (BusMessage 'edits'): what is new here
   * goes to this node's members at once. Nothing else changes: the committed entry follows
   * through the log as usual; it brings this room nothing new then, and goes only to members
   * who joined in between and were answered from stored bytes (the late joiners).
   */
  offerEdits(updates: readonly Uint8Array[]): void {
    const { oplog, members, log, docId } = this.options;
    if (this.closed || members.size === 0) return;
    const fresh: Uint8Array[] = [];
    for (const update of updates) {
      try {
        // Relayed even when its ops wait for dependencies this node lacks (an edit it skipped
        // while nobody was in the room, or one whose message comes later): once those arrive
        // they complete it here without a relay of it, so a member would never get it.
        if (broughtSomething(oplog.import(update))) fresh.push(update);
      } catch (error) {
        log.warn('doc.offered_edit_invalid', { docId, error });
      }
    }
    if (fresh.length > 0) {
      this.foreign = true;
      members.relay(fresh);
    }
  }

  /** Reads the log past the applied seq; runs one at a time, again if asked meanwhile. */
  requestCatchUp(): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = this.catchUp()
      .catch((error: unknown) => this.options.log.warn('doc.catch_up_failed', { docId: this.options.docId, error }))
      .finally(() => {
        this.catchingUp = null;
        if (this.catchUpAgain) {
          this.catchUpAgain = false;
          this.requestCatchUp();
        } else this.options.onSettled();
      });
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Imports other nodes' log entries (and their snapshot, when one compacted past us) and
   * relays them to this node's sockets. The log is gap-free, so after this everything up to
   * the last entry read is in memory.
   */
  private async catchUp(): Promise<void> {
    const { store, stored, oplog, members, docId } = this.options;
    this.options.onOtherNodesEntry('log read');
    const since = await store.readSince(docId, stored.appliedSeq);
    if (this.closed) return;
    const relayed: Uint8Array[] = [];
    const nothingNew: Uint8Array[] = [];
    if (since.snapshot && since.snapshot.seq > stored.appliedSeq) {
      // Another node folded entries we never read into a snapshot: take the snapshot.
      relayed.push(...oplog.importSnapshot(since.snapshot));
      stored.adoptSnapshot(since.snapshot);
      stored.advanceTo(since.snapshot.seq);
    }
    for (const entry of since.log) {
      if (entry.seq <= stored.appliedSeq) continue;
      if (stored.isOwnAhead(entry.seq)) stored.advanceTo(entry.seq);
      else {
        const status = oplog.importBatch(entry.updates);
        stored.appliedOther(entry);
        (broughtSomething(status) ? relayed : nothingNew).push(...entry.updates);
      }
    }
    if (relayed.length > 0) members.relay(relayed);
    if (nothingNew.length > 0) members.relayToLateJoiners(nothingNew);
    this.options.onEntries();
  }
}

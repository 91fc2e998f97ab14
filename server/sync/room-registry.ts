/**
 * The rooms this node holds in memory, by document id. A document is loaded once however many
 * sockets join it at the same moment, stays while it has sockets or pending writes, and is
 * unloaded after a grace period. Loading is asynchronous (database I/O) and one document's
 * load never blocks another room's traffic.
 */
import type { Logger } from '../logger';
import { DocRoom } from './doc-room';
import type { DocStore } from './doc-store';
import { PresenceRoom, type PresenceLimits } from './presence-room';

export interface RoomRegistryOptions {
  store: DocStore;
  log: Logger;
  graceMs: number;
  compactAfterUpdates: number;
  compactAfterBytes: number;
  onCommit: (updates: number) => void;
  /** Every commit (its seq and updates), for the doorbell to other nodes. */
  onCommitted: (docId: string, seq: number, updates: readonly Uint8Array[]) => void;
  /** Every edit a local socket sent that the room accepted, before it is stored, for other nodes. */
  onAccepted: (docId: string, updates: readonly Uint8Array[]) => void;
  /** Every presence update from a local socket, for other nodes. */
  onPresence: (docId: string, updates: readonly Uint8Array[]) => void;
  onOtherNodesEntry: (source: 'doorbell' | 'log read') => void;
  /** What one socket may publish in a presence room. */
  presence: PresenceLimits;
  onRelayed?: (updates: number, sockets: number) => void;
  onCommitDuration?: (seconds: number) => void;
}

export class RoomRegistry {
  private readonly docs = new Map<string, DocRoom>();
  private readonly loading = new Map<string, Promise<DocRoom>>();
  private readonly presence = new Map<string, PresenceRoom>();
  private readonly unloadTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: RoomRegistryOptions) {}

  get loadedDocuments(): number {
    return this.docs.size;
  }

  /** The loaded room of a document, loading it if needed. Throws `DocumentGoneError`. */
  async acquireDoc(docId: string): Promise<DocRoom> {
    this.cancelUnload(docId);
    const loaded = this.docs.get(docId);
    if (loaded) return loaded;
    let pending = this.loading.get(docId);
    if (!pending) {
      const started = performance.now();
      pending = DocRoom.load({
        docId,
        store: this.options.store,
        log: this.options.log,
        compactAfterUpdates: this.options.compactAfterUpdates,
        compactAfterBytes: this.options.compactAfterBytes,
        onIdle: (room) => this.scheduleUnload(room),
        onBroken: (room) => this.unload(room),
        onCommit: this.options.onCommit,
        onCommitted: this.options.onCommitted,
        onAccepted: this.options.onAccepted,
        onOtherNodesEntry: this.options.onOtherNodesEntry,
        onRelayed: this.options.onRelayed,
        onCommitDuration: this.options.onCommitDuration,
      }).then(
        (room) => {
          this.loading.delete(docId);
          this.docs.set(docId, room);
          // Doorbells that rang while loading were not heard: look once.
          room.requestCatchUp();
          this.options.log.debug('room.loaded', { docId, ms: Math.round(performance.now() - started), ...room.stats() });
          return room;
        },
        (error: unknown) => {
          this.loading.delete(docId);
          throw error;
        },
      );
      this.loading.set(docId, pending);
    }
    const room = await pending;
    this.cancelUnload(docId);
    return room;
  }

  /** Call when a join did not add the member after `acquireDoc`, so an unused room can go. */
  releaseDoc(room: DocRoom): void {
    if (room.isIdle) this.scheduleUnload(room);
  }

  /** The presence room of a document (created on first use, dropped when empty). */
  presenceRoom(docId: string): PresenceRoom {
    let room = this.presence.get(docId);
    if (!room) {
      room = new PresenceRoom(docId, this.options.presence, (updates) => this.options.onPresence(docId, updates));
      this.presence.set(docId, room);
    }
    return room;
  }

  /** Presence from another node: to this node's sockets in the document, if any. */
  remotePresence(docId: string, updates: Uint8Array[]): void {
    this.presence.get(docId)?.applyRemote(updates);
  }

  /** A log entry another node committed, as its doorbell carried it. */
  offerEntry(docId: string, seq: number, updates: Uint8Array[]): void {
    this.docs.get(docId)?.offerEntry(seq, updates);
  }

  /** Edits another node accepted and has not stored yet: to this node's sockets in the document, if any. */
  offerEdits(docId: string, updates: Uint8Array[]): void {
    this.docs.get(docId)?.offerEdits(updates);
  }

  /** Another node says documents' logs reach these seqs. */
  knownHeads(heads: readonly [string, number][]): void {
    for (const [docId, seq] of heads) this.docs.get(docId)?.knownHead(seq);
  }

  /** Every loaded document reads what it may have missed (after the bus lost messages). */
  catchUpAll(): void {
    for (const room of this.docs.values()) room.requestCatchUp();
  }

  /** Ids of the documents loaded here. */
  loadedIds(): string[] {
    return [...this.docs.keys()];
  }

  releasePresence(room: PresenceRoom): void {
    if (room.memberCount === 0 && this.presence.get(room.docId) === room) {
      this.presence.delete(room.docId);
      room.close();
    }
  }

  private scheduleUnload(room: DocRoom): void {
    if (this.docs.get(room.docId) !== room || this.unloadTimers.has(room.docId)) return;
    const timer = setTimeout(() => {
      this.unloadTimers.delete(room.docId);
      if (room.isIdle) this.unload(room);
    }, this.options.graceMs);
    timer.unref();
    this.unloadTimers.set(room.docId, timer);
  }

  private cancelUnload(docId: string): void {
    const timer = this.unloadTimers.get(docId);
    if (timer) {
      clearTimeout(timer);
      this.unloadTimers.delete(docId);
    }
  }

  private unload(room: DocRoom): void {
    this.cancelUnload(room.docId);
    if (this.docs.get(room.docId) === room) this.docs.delete(room.docId);
    room.close();
    this.options.log.debug('room.unloaded', { docId: room.docId });
  }

  /** Waits until every loaded room has written what it accepted. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.docs.values()].map((room) => room.flush()));
  }

  /** Frees every room (after `flushAll`, on shutdown). */
  closeAll(): void {
    for (const timer of this.unloadTimers.values()) clearTimeout(timer);
    this.unloadTimers.clear();
    for (const room of this.docs.values()) room.close();
    this.docs.clear();
    for (const room of this.presence.values()) room.close();
    this.presence.clear();
  }
}

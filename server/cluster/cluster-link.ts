/**
 * Connects this node's rooms to the other nodes through the bus: rings doorbells after
 * commits (batched per tick), sends accepted edits ahead of their commit where the bus
 * carries them, passes presence along, and turns doorbells, reconnects and a
 * periodic head check into catch-up reads of the ordered log.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import { LocalAccessEventBus, type AccessEvent, type AccessEventBus } from '../auth/access-events';
import type { Logger } from '../logger';
import type { RoomRegistry } from '../sync/room-registry';
import type { Bus } from './bus';
import { MAX_NOTIFY_BYTES } from './postgres-bus';

/** Doorbells per message: keeps a NOTIFY payload well under its 8000-byte limit. */
const HEADS_PER_MESSAGE = Math.floor(MAX_NOTIFY_BYTES / 60);
/** Entries ride along with their doorbell while the message stays under this. */
const INLINE_BUDGET = MAX_NOTIFY_BYTES - HEADS_PER_MESSAGE * 60;
/** Accepted edits per 'edits' message (base64 and JSON included); a larger edit waits for its doorbell. */
const EDITS_BUDGET = MAX_NOTIFY_BYTES - 100;
/** Heads looked up per query in the periodic check. */
const HEAD_CHECK_BATCH = 500;

export class ClusterLink {
  private rooms: RoomRegistry | null = null;
  private readonly pendingHeads = new Map<string, number>();
  private readonly pendingEntries: [string, number, string[]][] = [];
  private pendingInlineBytes = 0;
  private flushScheduled = false;
  private readonly pendingEdits: [string, string[]][] = [];
  private pendingEditBytes = 0;
  private editsScheduled = false;
  private headCheck: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly db: Kysely<Database>,
    private readonly options: { headCheckMs: number; log: Logger },
  ) {}

  /** Starts listening for `rooms`, and the periodic head check. */
  attach(rooms: RoomRegistry): void {
    this.rooms = rooms;
    this.bus.onMessage((message) => {
      if (message.type === 'doorbell') {
        for (const [docId, seq, updates] of message.entries ?? []) rooms.offerEntry(docId, seq, updates.map((u) => Buffer.from(u, 'base64')));
        rooms.knownHeads(message.heads);
      } else if (message.type === 'edits') {
        for (const [docId, updates] of message.docs) rooms.offerEdits(docId, updates.map((u) => Buffer.from(u, 'base64')));
      } else if (message.type === 'presence') rooms.remotePresence(message.docId, message.updates.map((u) => Buffer.from(u, 'base64')));
    });
    this.bus.onReconnect(() => rooms.catchUpAll());
    this.headCheck = setInterval(() => void this.checkHeads(), this.options.headCheckMs);
    this.headCheck.unref();
  }

  /**
   * A commit: ring the doorbell at the end of this tick, with every commit made meanwhile.
   * Small entries go along, which spares the other nodes a read of the log.
   */
  committed(docId: string, seq: number, updates: readonly Uint8Array[]): void {
    this.pendingHeads.set(docId, Math.max(seq, this.pendingHeads.get(docId) ?? 0));
    const size = updates.reduce((n, u) => n + Math.ceil(u.length / 3) * 4 + 4, docId.length + 24);
    if (this.pendingInlineBytes + size <= INLINE_BUDGET) {
      this.pendingEntries.push([docId, seq, updates.map((u) => Buffer.from(u).toString('base64'))]);
      this.pendingInlineBytes += size;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const heads = [...this.pendingHeads];
      const entries = this.pendingEntries.splice(0);
      this.pendingHeads.clear();
      this.pendingInlineBytes = 0;
      for (let i = 0; i < heads.length; i += HEADS_PER_MESSAGE) {
        this.bus.publish({
          type: 'doorbell',
          node: this.bus.nodeId,
          heads: heads.slice(i, i + HEADS_PER_MESSAGE),
          ...(i === 0 && entries.length > 0 ? { entries } : {}),
        });
      }
    });
  }

  /**
   * Edits accepted here, before they are stored: to the other nodes at the end of this tick,
   * with every edit accepted meanwhile (on a bus that carries edits; see BusMessage 'edits').
   */
  accepted(docId: string, updates: readonly Uint8Array[]): void {
    if (!this.bus.relaysEdits || updates.length === 0) return;
    const encoded = updates.map((u) => Buffer.from(u).toString('base64'));
    const size = encoded.reduce((n, u) => n + u.length + 3, docId.length + 8);
    if (size > EDITS_BUDGET) return;
    if (this.pendingEditBytes + size > EDITS_BUDGET) this.flushEdits();
    this.pendingEdits.push([docId, encoded]);
    this.pendingEditBytes += size;
    if (this.editsScheduled) return;
    this.editsScheduled = true;
    setImmediate(() => {
      this.editsScheduled = false;
      this.flushEdits();
    });
  }

  private flushEdits(): void {
    if (this.pendingEdits.length === 0) return;
    const docs = this.pendingEdits.splice(0);
    this.pendingEditBytes = 0;
    this.bus.publish({ type: 'edits', node: this.bus.nodeId, docs });
  }

  presence(docId: string, updates: readonly Uint8Array[]): void {
    this.bus.publish({ type: 'presence', node: this.bus.nodeId, docId, updates: updates.map((u) => Buffer.from(u).toString('base64')) });
  }

  /**
   * The repair for lost doorbells: compares loaded documents' heads in the database with
   * what this node has applied.
   */
  async checkHeads(): Promise<void> {
    const rooms = this.rooms;
    if (!rooms) return;
    const ids = rooms.loadedIds();
    for (let i = 0; i < ids.length; i += HEAD_CHECK_BATCH) {
      try {
        const rows = await this.db
          .selectFrom('documents')
          .select(['id', 'head_seq'])
          .where('id', 'in', ids.slice(i, i + HEAD_CHECK_BATCH))
          .execute();
        rooms.knownHeads(rows.map((r) => [r.id, r.head_seq]));
      } catch (error) {
        this.options.log.warn('cluster.head_check_failed', { error });
        return;
      }
    }
  }

  close(): void {
    if (this.headCheck) clearInterval(this.headCheck);
  }
}

/** Access events delivered here and on every other node. */
export class ClusterAccessEventBus implements AccessEventBus {
  private readonly local = new LocalAccessEventBus();

  constructor(private readonly bus: Bus) {
    bus.onMessage((message) => {
      if (message.type === 'access') this.local.publish(message.event);
    });
  }

  publish(event: AccessEvent): void {
    this.local.publish(event);
    this.bus.publish({ type: 'access', node: this.bus.nodeId, event });
  }

  subscribe(listener: (event: AccessEvent) => void): () => void {
    return this.local.subscribe(listener);
  }
}

/**
 * Connects this node's rooms to the other nodes through the bus: rings doorbells after
 * commits (batched per tick), passes presence along, and turns doorbells, reconnects and a
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
/** Heads looked up per query in the periodic check. */
const HEAD_CHECK_BATCH = 500;

export class ClusterLink {
  private rooms: RoomRegistry | null = null;
  private readonly pendingHeads = new Map<string, number>();
  private readonly pendingEntries: [string, number, string[]][] = [];
  private pendingInlineBytes = 0;
  private flushScheduled = false;
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
      }
      else if (message.type === 'presence') rooms.remotePresence(message.docId, message.updates.map((u) => Buffer.from(u, 'base64')));
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

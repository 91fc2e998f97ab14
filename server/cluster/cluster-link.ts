/**
 * Connects this node's rooms to the other nodes through the bus: rings doorbells after
 * commits (batched per tick), sends accepted edits ahead of their commit where the bus
 * carries them, passes presence along, and turns doorbells, reconnects and a
 * periodic head check into catch-up reads of the ordered log.
 */
import type { Kysely } from 'kysely';
import { readHeads } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';
import { LocalAccessEventBus, type AccessEvent, type AccessEventBus } from '../auth/access-events';
import type { Logger } from '../logger';
import type { RoomRegistry } from '../sync/room-registry';
import type { Bus, BusMessage } from './bus';

/** Heads looked up per query in the periodic check. */
const HEAD_CHECK_BATCH = 500;
/** A doorbell's JSON besides its heads and entries: type, keys, brackets (the node id is added). */
const DOORBELL_OVERHEAD = 64;
/** An 'edits' message's JSON besides its documents. */
const EDITS_OVERHEAD = 64;

type Head = [docId: string, seq: number];
/** A committed entry that may ride along with its doorbell, and its size in the message. */
export interface InlineEntry {
  entry: [docId: string, seq: number, updates: string[]];
  bytes: number;
}

/** Bytes of a head in a doorbell's JSON: `["<id>",<seq>],`. */
const headBytes = ([docId, seq]: Head): number => docId.length + String(seq).length + 6;

/** An entry for a doorbell: its updates in base64, and its bytes in the message's JSON. */
export function inlineEntry(docId: string, seq: number, updates: readonly Uint8Array[]): InlineEntry {
  const encoded = updates.map((u) => Buffer.from(u).toString('base64'));
  return { entry: [docId, seq, encoded], bytes: encoded.reduce((n, u) => n + u.length + 3, docId.length + String(seq).length + 8) };
}

/**
 * One tick's doorbells as bus messages of at most `maxBytes` each: the heads in as few messages
 * as fit, and the entries, in order, in the room those heads leave. An entry that does not fit
 * the last message is left out: its document's head is rung, and other nodes read it from the
 * log. Entries never add a message: NOTIFY's message rate is the bus's limit, not its size.
 */
export function packDoorbells(node: string, heads: readonly Head[], entries: readonly InlineEntry[], maxBytes: number): BusMessage[] {
  const messages: BusMessage[] = [];
  const empty = DOORBELL_OVERHEAD + node.length;
  let next = 0;
  const publish = (chunk: Head[], bytes: number): void => {
    const inline: InlineEntry['entry'][] = [];
    while (next < entries.length && bytes + entries[next]!.bytes <= maxBytes) {
      inline.push(entries[next]!.entry);
      bytes += entries[next]!.bytes;
      next++;
    }
    messages.push({ type: 'doorbell', node, heads: chunk, ...(inline.length > 0 ? { entries: inline } : {}) });
  };
  let chunk: Head[] = [];
  let bytes = empty;
  for (const head of heads) {
    if (chunk.length > 0 && bytes + headBytes(head) > maxBytes) {
      publish(chunk, bytes);
      chunk = [];
      bytes = empty;
    }
    chunk.push(head);
    bytes += headBytes(head);
  }
  if (chunk.length > 0) publish(chunk, bytes);
  return messages;
}

export class ClusterLink {
  private rooms: RoomRegistry | null = null;
  private readonly pendingHeads = new Map<string, number>();
  private readonly pendingEntries: InlineEntry[] = [];
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
        for (const [docId, seq, updates] of message.entries ?? [])
          rooms.offerEntry(
            docId,
            seq,
            updates.map((u) => Buffer.from(u, 'base64')),
          );
        rooms.knownHeads(message.heads);
      } else if (message.type === 'edits') {
        for (const [docId, updates] of message.docs)
          rooms.offerEdits(
            docId,
            updates.map((u) => Buffer.from(u, 'base64')),
          );
      } else if (message.type === 'presence')
        rooms.remotePresence(
          message.docId,
          message.updates.map((u) => Buffer.from(u, 'base64')),
        );
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
    // Entries are kept while they could fit one message (base64 is 4/3 of the bytes).
    const max = this.bus.maxMessageBytes;
    const raw = updates.reduce((n, u) => n + u.length, 0);
    if (this.pendingInlineBytes + (raw / 3) * 4 < max) {
      const entry = inlineEntry(docId, seq, updates);
      if (this.pendingInlineBytes + entry.bytes <= max) {
        this.pendingEntries.push(entry);
        this.pendingInlineBytes += entry.bytes;
      }
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const messages = packDoorbells(this.bus.nodeId, [...this.pendingHeads], this.pendingEntries.splice(0), max);
      this.pendingHeads.clear();
      this.pendingInlineBytes = 0;
      for (const message of messages) this.bus.publish(message);
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
    const budget = this.bus.maxMessageBytes - EDITS_OVERHEAD - this.bus.nodeId.length;
    if (size > budget) return;
    if (this.pendingEditBytes + size > budget) this.flushEdits();
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
        rooms.knownHeads(await readHeads(this.db, ids.slice(i, i + HEAD_CHECK_BATCH)));
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

/**
 * The bus between nodes. It carries doorbells ("document d has entries up to seq s", with
 * small entries inline), presence, access events and, on a fast bus, edits ahead of their
 * commit. Nothing depends on it for data: every node can read everything from the ordered log
 * in Postgres. A lost message therefore costs latency, not data: the periodic head check (and
 * a catch-up after every bus reconnect) repairs it.
 */
import { z } from 'zod';
import { isDocumentId } from '../../shared/ids';
import type { AccessEvent } from '../auth/access-events';
import type { Logger } from '../logger';

export type BusMessage =
  /**
   * Documents with new log entries, and the highest seq of each. Small entries ride along
   * (`entries`: document, seq, base64 updates), so a node that is up to date applies them
   * without reading the log; anything else is read from the log as usual.
   */
  | { type: 'doorbell'; node: string; heads: [docId: string, seq: number][]; entries?: [docId: string, seq: number, updates: string[]][] }
  /**
   * Edits a node accepted and has not stored yet (only on a bus with `relaysEdits`): nodes
   * with members in the document relay them at once, so an edit reaches sockets on other
   * nodes without waiting for its COMMIT. Nothing else depends on them: the committed entry
   * follows with its doorbell and goes to the members that may lack it (see
   * `DocRoom.offerEdits`).
   */
  | { type: 'edits'; node: string; docs: [docId: string, updates: string[]][] }
  /** Presence updates (base64 Loro EphemeralStore updates) of a document. */
  | { type: 'presence'; node: string; docId: string; updates: string[] }
  | { type: 'access'; node: string; event: AccessEvent };

export interface Bus {
  /** This node's id: messages it published come back to it and are ignored. */
  readonly nodeId: string;
  /**
   * Whether accepted edits go over this bus before they are stored ('edits' messages). Redis:
   * yes. Postgres NOTIFY: no, it carried ~430 messages/s on this machine (README, cluster
   * bench), and every keystroke would be one; edits cross nodes there after their COMMIT.
   */
  readonly relaysEdits: boolean;
  /**
   * The largest payload (JSON, bytes) this bus carries. Doorbells fill what their heads leave
   * with entries, and 'edits' messages stay under it; a larger edit crosses through the log.
   */
  readonly maxMessageBytes: number;
  /** Sends to every other node. Best effort: failures are logged, never thrown. */
  publish(message: BusMessage): void;
  /** Called with every message from another node. */
  onMessage(listener: (message: BusMessage) => void): void;
  /** Called after the bus reconnects: messages may have been lost meanwhile. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** Postgres refuses NOTIFY payloads of 8000 bytes or more: the default bound of a bus message. */
export const MAX_NOTIFY_BYTES = 7_900;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const docId = z.string().refine(isDocumentId, 'not a document id');
const seq = z.number().int().nonnegative();

/**
 * What a message from another node must look like. The bus is written only by Tandem nodes,
 * but nodes of two versions share it during a rolling upgrade: a message this version cannot
 * read is logged and dropped, never half-applied.
 */
const busMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('doorbell'),
    node: z.string(),
    heads: z.array(z.tuple([docId, seq])),
    entries: z.array(z.tuple([docId, seq, z.array(base64)])).optional(),
  }),
  z.object({ type: z.literal('edits'), node: z.string(), docs: z.array(z.tuple([docId, z.array(base64)])) }),
  z.object({ type: z.literal('presence'), node: z.string(), docId, updates: z.array(base64) }),
  z.object({
    type: z.literal('access'),
    node: z.string(),
    event: z.discriminatedUnion('type', [
      z.object({ type: z.literal('session_revoked'), sessionId: z.string() }),
      z.object({ type: z.literal('token_revoked'), tokenId: z.string() }),
      z.object({ type: z.literal('user_revoked'), userId: z.string() }),
      z.object({ type: z.literal('document_access_changed'), docId }),
    ]),
  }),
]) satisfies z.ZodType<BusMessage>;

/**
 * A raw bus payload as a message (null: one this node published, which comes back to it), or
 * why it is not one. Own messages are recognised before validation: every node hears all its
 * own doorbells.
 */
export function parseBusMessage(raw: string, ownNode: string): { ok: true; message: BusMessage | null } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if ((json as { node?: unknown } | null)?.node === ownNode) return { ok: true, message: null };
  const parsed = busMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}` };
}

/** The base of every bus: listener bookkeeping, validation and own-message filtering. */
export abstract class BaseBus implements Bus {
  readonly relaysEdits: boolean = false;
  readonly maxMessageBytes: number = MAX_NOTIFY_BYTES;
  private readonly messageListeners: ((message: BusMessage) => void)[] = [];
  private readonly reconnectListeners: (() => void)[] = [];

  constructor(
    readonly nodeId: string,
    private readonly log?: Logger,
  ) {}

  abstract publish(message: BusMessage): void;
  abstract close(): Promise<void>;

  onMessage(listener: (message: BusMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /**
   * Checks and dispatches a raw message. An invalid one (another version's format, a
   * truncated payload) is logged as `bus.message_invalid` and dropped; a listener that throws
   * is logged as `bus.listener_failed`: either way the bus goes on serving the next message.
   */
  protected deliver(raw: string): void {
    const parsed = parseBusMessage(raw, this.nodeId);
    if (!parsed.ok) {
      this.log?.warn('bus.message_invalid', { reason: parsed.reason, bytes: raw.length });
      return;
    }
    const message = parsed.message;
    if (message === null) return;
    for (const listener of this.messageListeners) {
      try {
        listener(message);
      } catch (error) {
        this.log?.error('bus.listener_failed', { type: message.type, error });
      }
    }
  }

  protected reconnected(): void {
    for (const listener of this.reconnectListeners) listener();
  }
}

/** One node alone (embedded Postgres, tests): nothing to send anywhere. */
export class LocalBus extends BaseBus {
  publish(): void {}
  async close(): Promise<void> {}
}

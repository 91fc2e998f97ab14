/**
 * The bus between nodes. It carries doorbells ("document d has entries up to seq s", with
 * small entries inline), presence, access events and, on a fast bus, edits ahead of their
 * commit. Nothing depends on it for data: every node can read everything from the ordered log
 * in Postgres. A lost message therefore costs latency, not data: the periodic head check (and
 * a catch-up after every bus reconnect) repairs it.
 */
import type { AccessEvent } from '../auth/access-events';

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
  /** Sends to every other node. Best effort: failures are logged, never thrown. */
  publish(message: BusMessage): void;
  /** Called with every message from another node. */
  onMessage(listener: (message: BusMessage) => void): void;
  /** Called after the bus reconnects: messages may have been lost meanwhile. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** The base of every bus: listener bookkeeping and own-message filtering. */
export abstract class BaseBus implements Bus {
  readonly relaysEdits: boolean = false;
  private readonly messageListeners: ((message: BusMessage) => void)[] = [];
  private readonly reconnectListeners: (() => void)[] = [];

  constructor(readonly nodeId: string) {}

  abstract publish(message: BusMessage): void;
  abstract close(): Promise<void>;

  onMessage(listener: (message: BusMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Parses and dispatches a raw message (malformed ones are ignored: the bus is trusted). */
  protected deliver(raw: string): void {
    let message: BusMessage;
    try {
      message = JSON.parse(raw) as BusMessage;
    } catch {
      return;
    }
    if (message.node === this.nodeId) return;
    for (const listener of this.messageListeners) listener(message);
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

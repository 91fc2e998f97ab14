import { CrdtType } from '../../shared/protocol/index';
import { encodeUpdates } from '../../shared/protocol/fragments';

/**
 * Updates of one room on their way to its members, framed once for all of them: a keystroke
 * relayed to twenty members is encoded once, not twenty times (encoding, with its random
 * batch id, was a large share of the server's time under load).
 */
export class Relay {
  private framed: Uint8Array[] | null = null;

  constructor(
    readonly roomKind: 'doc' | 'presence',
    readonly docId: string,
    readonly updates: readonly Uint8Array[],
  ) {}

  get frames(): Uint8Array[] {
    return (this.framed ??= encodeUpdates(this.roomKind === 'doc' ? CrdtType.Loro : CrdtType.LoroEphemeralStore, this.docId, this.updates));
  }

  /** Bytes it holds: its updates, and its frames once framed. */
  get bytes(): number {
    const sum = (list: readonly Uint8Array[]): number => list.reduce((n, f) => n + f.length, 0);
    return sum(this.updates) + (this.framed ? sum(this.framed) : 0);
  }

  /**
   * The relay of a joiner's catch-up, shared with the joiners before it that were sent the
   * same updates (the room's whole-document answer, its stored bytes): framing copies every
   * byte, so each join of a large document held a copy of it in its socket's buffer until
   * read, and a few accounts joining with sockets that never read held gigabytes. Shared, the
   * sockets hold one. Only for answers the room gives every such joiner (`shared` in
   * join-answer.ts), one per room, the last CATCH_UPS_KEPT rooms' up to CATCH_UP_BYTES_KEPT.
   */
  static catchUp(docId: string, updates: readonly Uint8Array[]): Relay {
    const first = updates[0];
    if (first === undefined) return new Relay('doc', docId, updates);
    const kept = catchUps.get(first);
    if (kept && kept.docId === docId && kept.updates.length === updates.length && kept.updates.every((u, i) => u === updates[i])) {
      catchUps.delete(first); // most recently used last
      catchUps.set(first, kept);
      return kept;
    }
    Relay.forgetCatchUps(docId); // the room's earlier answer: its content changed since
    const relay = new Relay('doc', docId, updates);
    relay.frames;
    catchUps.set(first, relay);
    let bytes = 0;
    for (const r of catchUps.values()) bytes += r.bytes;
    for (const [key, r] of catchUps) {
      if (catchUps.size <= CATCH_UPS_KEPT && bytes <= CATCH_UP_BYTES_KEPT) break;
      catchUps.delete(key);
      bytes -= r.bytes;
    }
    return relay;
  }

  /** Drops the kept catch-ups of a room that closed. */
  static forgetCatchUps(docId: string): void {
    for (const [key, r] of catchUps) if (r.docId === docId) catchUps.delete(key);
  }
}

const CATCH_UPS_KEPT = 32;
const CATCH_UP_BYTES_KEPT = 128 * 1024 * 1024;
/** Catch-up relays by their first update, least recently used first. */
const catchUps = new Map<Uint8Array, Relay>();

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
}

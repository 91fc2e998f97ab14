/**
 * What a field's badge says when the server refused this browser for a reason it named: the
 * reason in words and its name (what the server logs and counts, so a person can quote it to
 * whoever runs the server), instead of a bare "offline" or "stopped".
 */
import { CloseCode, CloseReason } from '../../../shared/protocol/index';
import type { RoomFailure } from '../../../shared/client/client-room';

export interface RefusalInput {
  /** How the last socket closed (`SyncClient.lastClose`), and whether the document is live now. */
  lastClose: { code: number; reason: string } | null;
  live: boolean;
  /** Why the document's room stopped, when it did. */
  failure: RoomFailure | null;
}

/** The badge's problem line, or null when there is none. */
export function refusalProblem({ lastClose, live, failure }: RefusalInput): string | null {
  if (failure) {
    if (failure.reason === 'evicted' || failure.reason === 'auth_failed' || failure.reason === 'not_found') return 'access to this document was removed';
    return `stopped: ${failure.message}${failure.code ? ` (${failure.code})` : ''}`;
  }
  if (!live && lastClose?.code === CloseCode.TooManySockets) {
    return `your account has as many connections to the server as it may (${CloseReason[CloseCode.TooManySockets]}); close Tandem in another browser, retrying`;
  }
  return null;
}

/**
 * Revocations that must reach open sockets at once. Every node publishes here and listens
 * here; today the bus is in-process, and the multi-node issue carries it across nodes.
 */
export type AccessEvent =
  /** A sign-in session ended (sign-out, revoked, expired early). */
  | { type: 'session_revoked'; sessionId: string }
  /** A personal access token was revoked. */
  | { type: 'token_revoked'; tokenId: string }
  /** An account was disabled or deleted: every credential of it is void. */
  | { type: 'user_revoked'; userId: string }
  /** Who may do what on a document changed (member removed or re-roled, link revoked, deleted). */
  | { type: 'document_access_changed'; docId: string };

export interface AccessEventBus {
  publish(event: AccessEvent): void;
  subscribe(listener: (event: AccessEvent) => void): () => void;
}

export class LocalAccessEventBus implements AccessEventBus {
  private readonly listeners = new Set<(event: AccessEvent) => void>();

  publish(event: AccessEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  subscribe(listener: (event: AccessEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Tandem's WebSocket close codes (4000–4999, the range RFC 6455 leaves to applications).
 *
 * The split follows the official `loro-websocket` client, which never reconnects after a code
 * in 4400–4499: codes there mean "retrying will not help" (bad input, bad credentials);
 * codes in 4000–4399 mean "reconnect, with backoff" (restart, overload). The close reason
 * string is always the `CloseReason` that goes with the code, so clients can switch on either.
 *
 * Standard codes the server also uses: 1009 (frame over `maxPayload`, sent by `ws` itself).
 * Rate limits are not a close: a join over the limit gets a JoinError `rate_limited`, an
 * update an Ack `rate_limited`, and the socket stays open. An address over its socket limit
 * gets HTTP 429 before the upgrade (before any database lookup); an account over its limit is
 * already authenticated, so it gets the upgrade and `too_many_sockets`, which a browser (that
 * never sees an upgrade's HTTP status) can show.
 */
export const CloseCode = {
  /** The node is shutting down or draining; reconnect (to any node) and rejoin. */
  ServerShutdown: 4001,
  /** The client did not read its messages fast enough; reconnect and rejoin from your version. */
  SlowConsumer: 4002,
  /** An anonymous socket joined no room in its first seconds; reconnect when there is one to join. */
  Idle: 4008,
  /** The account holds as many sockets on this node as it may (TANDEM_MAX_SOCKETS_PER_ACCOUNT);
   *  reconnect with backoff, a slot frees when one of its other sockets closes. */
  TooManySockets: 4029,
  /** A binary frame that is not a protocol message. */
  MalformedFrame: 4400,
  /** Credentials were presented and are not valid (unknown, expired or used ticket; bad token),
   *  or a Firefox extension came without a ticket. Get new credentials before reconnecting. */
  Unauthenticated: 4401,
  /** The session or token this socket used was revoked, or its account disabled. */
  Revoked: 4403,
  /** A text frame other than "ping"/"pong". */
  UnsupportedFrame: 4415,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The reason string sent with each close code. */
export const CloseReason = {
  [CloseCode.ServerShutdown]: 'server_shutdown',
  [CloseCode.SlowConsumer]: 'slow_consumer',
  [CloseCode.Idle]: 'idle',
  [CloseCode.TooManySockets]: 'too_many_sockets',
  [CloseCode.MalformedFrame]: 'malformed_frame',
  [CloseCode.Unauthenticated]: 'unauthenticated',
  [CloseCode.Revoked]: 'revoked',
  [CloseCode.UnsupportedFrame]: 'unsupported_frame',
} as const satisfies Record<CloseCode, string>;
export type CloseReason = (typeof CloseReason)[CloseCode];

/** True when a client should reconnect after this close code (with backoff). */
export function isRetryableClose(code: number): boolean {
  if (code >= 4400 && code <= 4499) return false;
  // 1008 policy violation; 1009 message too big: the same message would be refused again.
  return code !== 1008 && code !== 1009;
}

/**
 * The expected failures of the server's services, as one closed set of codes. Services throw
 * `DomainError`; they never choose an HTTP status. The HTTP layer maps each code to one status
 * in one place (`http/error-status.ts`), so adding a code without deciding its status does not
 * compile. Anything else thrown is a bug: logged, and answered with 500 `internal_error`.
 */
export type ErrorCode =
  // The request itself
  | 'invalid_json'
  | 'invalid_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  // Who is asking
  | 'unauthenticated'
  | 'invalid_token'
  | 'invalid_credentials'
  | 'wrong_current_password'
  | 'session_required'
  | 'bad_origin'
  // What they may do
  | 'forbidden'
  | 'insufficient_scope'
  | 'signup_closed'
  | 'quota_exceeded'
  | 'unknown_host'
  // What they asked for
  | 'not_found'
  | 'user_not_found'
  | 'weak_password'
  | 'email_taken'
  | 'last_admin'
  | 'owner_role'
  | 'document_too_large'
  | 'version_not_found'
  | 'no_history'
  | 'invalid_snapshot'
  // Not now
  | 'too_many_signups'
  | 'too_many_attempts'
  | 'busy'
  | 'export_timeout'
  | 'not_ready';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds after which trying again may succeed (sent as Retry-After). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** A heavy job made Loro panic (a WebAssembly trap, out of its memory): the input, not the server, is at fault. */
export class HeavyWorkPanic extends Error {
  override readonly name = 'HeavyWorkPanic';
  constructor(
    readonly kind: string,
    detail: string,
  ) {
    super(`${kind} made the CRDT library fail: ${detail}`);
  }
}

/** True for what a Loro panic throws: its WebAssembly trap, or its out-of-memory error. */
export function isLoroPanic(error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError || (error instanceof Error && /out of WASM memory/.test(error.message));
}

/**
 * Work in the heavy-work thread (snapshots, text export, checking a client's snapshot) outlived
 * its time budget; the thread was replaced. Not a domain error: each caller decides what it
 * means (a text export answers `export_timeout`; an update check refuses the update).
 */
export class HeavyWorkTimeout extends Error {
  override readonly name = 'HeavyWorkTimeout';
  constructor(
    readonly kind: string,
    readonly budgetMs: number,
  ) {
    super(`${kind} took longer than ${budgetMs} ms`);
  }
}

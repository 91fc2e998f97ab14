/**
 * The one place a domain error becomes an HTTP answer: its status (one per code, checked
 * exhaustive by the compiler), a Retry-After when it has one, and the body
 * `{ "error": { "code", "message" } }`.
 */
import type Koa from 'koa';
import type { DomainError, ErrorCode } from '../errors';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_json: 400,
  invalid_request: 400,
  weak_password: 400,
  unauthenticated: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  wrong_current_password: 403,
  session_required: 403,
  bad_origin: 403,
  forbidden: 403,
  insufficient_scope: 403,
  signup_closed: 403,
  quota_exceeded: 403,
  unknown_host: 421,
  not_found: 404,
  version_not_found: 404,
  no_history: 409,
  invalid_snapshot: 400,
  user_not_found: 404,
  email_taken: 409,
  last_admin: 409,
  owner_role: 409,
  payload_too_large: 413,
  document_too_large: 413,
  unsupported_media_type: 415,
  too_many_signups: 429,
  too_many_attempts: 429,
  busy: 503,
  export_timeout: 503,
  not_ready: 503,
};

/**
 * Codes that go on the wire under another name. `wrong_current_password` was answered as
 * `invalid_credentials` (with 403, where a failed sign-in is 401) before codes had one status
 * each; clients may match on it. Drop the alias with the next API version.
 */
const WIRE_CODE: Partial<Record<ErrorCode, string>> = { wrong_current_password: 'invalid_credentials' };

export const statusOf = (code: ErrorCode): number => STATUS[code];

/** The code as clients see it (see WIRE_CODE). */
export const wireCodeOf = (code: ErrorCode): string => WIRE_CODE[code] ?? code;

/** Every error code, with the status and the wire code each is sent with. */
export const ERROR_CODES: readonly ErrorCode[] = Object.keys(STATUS) as ErrorCode[];

/** Answers the request with `error`: status, Retry-After, JSON body. */
export function sendError(ctx: Koa.Context, error: DomainError): void {
  if (error.retryAfter) ctx.set('Retry-After', String(error.retryAfter));
  ctx.status = STATUS[error.code];
  ctx.body = { error: { code: WIRE_CODE[error.code] ?? error.code, message: error.message } };
}

/** Sets only the status and Retry-After (for pages that render the message themselves). */
export function setErrorStatus(ctx: Koa.Context, error: DomainError): number {
  if (error.retryAfter) ctx.set('Retry-After', String(error.retryAfter));
  return STATUS[error.code];
}

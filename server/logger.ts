/**
 * The server's structured log (pino): one JSON line per event on stderr, filtered by level,
 * `{"level","t","event",…fields}`. Secrets never reach it: fields named like one (passwords,
 * tokens, tickets, share tokens, cookies, authorization headers) are censored at the top level
 * and one level down, and anything shaped like a personal access token or a `?ticket=` in a
 * URL is censored wherever it appears in the line (an error message, a header dump).
 */
import pino, { type DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** What a censored value reads as. */
export const REDACTED = '[redacted]';

/** Field names whose values are secrets, wherever a log call puts them. */
const SECRET_FIELDS = ['password', 'currentPassword', 'newPassword', 'adminPassword', 'token', 'ticket', 'share', 'shareToken', 'secret', 'cookie', 'authorization', 'set-cookie', 'sessionToken'];

const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  const joined = key.startsWith('[') ? key : `.${key}`;
  return [key, `*${joined}`];
});

/**
 * Secrets by their shape, for values logged under another name: personal access tokens
 * (`tnd_` and 32 base32 characters) and secrets in a URL's query (`?ticket=…`, `&token=…`).
 */
const SECRET_SHAPES: readonly [RegExp, string][] = [
  [/tnd_[a-z2-7]{8,}/g, `tnd_${REDACTED}`],
  [/([?&](?:ticket|token|share|password)=)[^&\s"#]+/gi, `$1${REDACTED}`],
];

function scrub(line: string): string {
  let out = line;
  for (const [shape, replacement] of SECRET_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/**
 * Errors as plain objects with their cause chain (JSON would drop both). `withStack` at the
 * error level: an error logged there is a bug or an outage, and its stack is what finds it;
 * expected failures (warn and below) stay one short line.
 */
function plain(value: unknown, withStack: boolean, depth = 0): unknown {
  if (!(value instanceof Error) || depth > 5) return value;
  return {
    name: value.name,
    message: value.message,
    code: (value as { code?: unknown }).code,
    ...(withStack && value.stack ? { stack: value.stack } : {}),
    cause: plain(value.cause, withStack, depth + 1),
  };
}

function wrap(base: pino.Logger): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>, event: string, fields?: Record<string, unknown>): void => {
    if (!base.isLevelEnabled(at)) return;
    const record: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields ?? {})) record[k] = plain(v, at === 'error');
    base[at](record, event);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => wrap(base.child(fields)),
  };
}

/**
 * A logger at `level` with `base` fields on every line, writing to `destination` (default:
 * process.stderr, which Node writes synchronously to files and pipes, so a line written before
 * a crash is not lost). Not pino.destination(2): on a full pipe it sleeps and retries, and a
 * node whose log reader was busy stalled long enough to miss its readiness checks.
 */
export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const logger = pino(
    {
      level,
      base,
      messageKey: 'event',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: scrub },
    },
    destination ?? process.stderr,
  );
  return wrap(logger);
}

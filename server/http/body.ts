/** Reads request bodies: JSON for the API, URL-encoded forms for the pages, raw bytes where a route takes them. Size-limited. */
import type { Context } from 'koa';
import { DomainError } from '../errors';

/** Largest body accepted: documents may start from a long field's text. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

async function readRaw(ctx: Context, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > maxBytes) throw new DomainError('payload_too_large', `bodies are limited to ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new DomainError('payload_too_large', `bodies are limited to ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A body of raw bytes (`application/octet-stream`), up to `maxBytes`. */
export async function readBytes(ctx: Context, maxBytes: number): Promise<Uint8Array> {
  if (!ctx.is('application/octet-stream')) throw new DomainError('unsupported_media_type', 'send the bytes with Content-Type: application/octet-stream');
  return new Uint8Array(await readRaw(ctx, maxBytes));
}

/** The JSON body, or `undefined` when there is none. */
export async function readJson(ctx: Context): Promise<unknown> {
  const raw = (await readRaw(ctx)).toString('utf8');
  if (raw.length === 0) return undefined;
  if (!ctx.is('application/json')) throw new DomainError('unsupported_media_type', 'send JSON with Content-Type: application/json');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new DomainError('invalid_json', 'the body is not valid JSON');
  }
}

export async function readForm(ctx: Context): Promise<Record<string, string>> {
  const raw = (await readRaw(ctx)).toString('utf8');
  return Object.fromEntries(new URLSearchParams(raw));
}

/** Reads request bodies: JSON for the API, URL-encoded forms for the pages. Size-limited. */
import type { Context } from 'koa';
import { HttpError } from './http-error';

/** Largest body accepted: documents may start from a long field's text. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

async function readRaw(ctx: Context): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON body, or `undefined` when there is none. */
export async function readJson(ctx: Context): Promise<unknown> {
  const raw = await readRaw(ctx);
  if (raw.length === 0) return undefined;
  if (!ctx.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send JSON with Content-Type: application/json');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

export async function readForm(ctx: Context): Promise<Record<string, string>> {
  const raw = await readRaw(ctx);
  return Object.fromEntries(new URLSearchParams(raw));
}

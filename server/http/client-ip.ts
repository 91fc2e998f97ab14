import type { Context } from 'koa';

/** The client's address: the socket's, or the first X-Forwarded-For hop behind a trusted proxy. */
export function clientIp(ctx: Context, trustProxy: boolean): string {
  const forwarded = trustProxy ? ctx.get('x-forwarded-for') : '';
  return forwarded ? forwarded.split(',')[0]!.trim() : (ctx.req.socket.remoteAddress ?? 'unknown');
}

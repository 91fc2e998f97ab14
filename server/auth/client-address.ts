/**
 * The client's address, for throttles and quotas. Behind trusted proxies it is read from
 * X-Forwarded-For, whose entries are appended left to right as the request passes each proxy:
 * everything left of what our own proxies appended was written by the client and proves
 * nothing. With `proxyHops` proxies in front, the client's address is the entry that many
 * places from the right (the one the outermost proxy appended). Taking the left-most entry,
 * as this did before, let anyone pick their address and walk past every per-address limit.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Context } from 'koa';
import type { AuthOptions } from '../config';

type ProxyOptions = Pick<AuthOptions, 'trustProxy' | 'proxyHops'>;

/** The entry `hops` places from the right of a comma-separated forwarding header, or null. */
export function forwardedHop(header: string | string[] | undefined, hops: number): string | null {
  const joined = Array.isArray(header) ? header.join(',') : header;
  if (!joined) return null;
  const entries = joined
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) return null;
  // Fewer entries than proxies: the request came in past the outer ones; the left-most is all we know.
  return entries[Math.max(0, entries.length - hops)]!;
}

/** The address of the client that sent `req`. */
export function clientAddress(req: IncomingMessage, options: ProxyOptions): string {
  const socketAddress = req.socket.remoteAddress ?? 'unknown';
  if (!options.trustProxy) return socketAddress;
  const hop = forwardedHop(req.headers['x-forwarded-for'], options.proxyHops);
  // A proxy writes addresses; anything else there is not one of ours.
  return hop && isIP(hop) ? hop : socketAddress;
}

/** `clientAddress` of a Koa request. */
export function clientIp(ctx: Context, options: ProxyOptions): string {
  return clientAddress(ctx.req, options);
}

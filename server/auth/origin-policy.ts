/**
 * Which origins may use a user's credentials: the server's own origin, the configured Chrome
 * extension ids, and Firefox extensions. A web page on another origin can make the browser
 * send our cookie (CSRF) or open our WebSocket with it (cross-site WebSocket hijacking); this
 * is what stops it.
 *
 * Firefox gives each installed extension a random `moz-extension://<uuid>` origin that a server
 * cannot list in advance. Only extensions can have such an origin (no web page can), so these
 * origins carry no CSRF risk: they are accepted for REST calls, and on the WebSocket upgrade
 * only together with a single-use ticket (which only a signed-in extension can obtain).
 */
import type { IncomingMessage } from 'node:http';
import type { AuthOptions } from '../config';
import { forwardedHop } from './client-address';

export type OriginKind = 'same' | 'chrome_extension' | 'firefox_extension' | 'foreign' | 'none';

/** The origin this request was addressed to, as the browser sees it. */
export function requestOrigin(req: IncomingMessage, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops' | 'proxyHops'>): string {
  if (options.publicUrl) return options.publicUrl;
  // The same hop as the address (client-address.ts): a value left of it came from the client.
  const forwarded = options.trustProxy ? forwardedHop(req.headers['x-forwarded-proto'], options.proxyHops) : null;
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}

export function classifyOrigin(req: IncomingMessage, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops' | 'extensionIds'>): OriginKind {
  const origin = req.headers.origin;
  if (!origin) return 'none';
  if (origin === requestOrigin(req, options)) return 'same';
  const chrome = /^chrome-extension:\/\/([a-p]{32})$/.exec(origin);
  if (chrome && options.extensionIds.includes(chrome[1]!)) return 'chrome_extension';
  if (/^moz-extension:\/\/[0-9a-f-]{36}$/.test(origin)) return 'firefox_extension';
  return 'foreign';
}

/** True when the request is served over HTTPS (directly or behind a trusted proxy). */
export function isSecure(req: IncomingMessage, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>): boolean {
  return requestOrigin(req, options).startsWith('https://');
}

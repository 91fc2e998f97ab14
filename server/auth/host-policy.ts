/**
 * Which Host names this server answers to for anything that involves the session cookie, and
 * which origin it writes into links it hands out.
 *
 * With TANDEM_PUBLIC_URL set, that origin is the only one. Without it, the names it listens
 * on: the loopback names on its port, its configured host, and (on 0.0.0.0) the machine's
 * own addresses and hostname. Before, the Host header was taken on trust: a request naming
 * any host got share links pointing there (mail the owner a link to the attacker's site), and
 * a DNS-rebinding page (evil.example resolving to 127.0.0.1) was "same origin" with itself
 * while talking to us. Requests that carry or set the session cookie with an unknown Host are
 * now refused with 421; bearer-token calls and cookie-less pages are not affected (a load
 * balancer's health check may name any host).
 */
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import type { AuthOptions } from '../config';
import { requestOrigin } from './origin-policy';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);

export class HostPolicy {
  private port: number | null = null;
  private known: ReadonlySet<string> | null = null;

  constructor(private readonly options: { publicUrl: string | null; host: string }) {
    if (options.publicUrl) this.known = new Set([new URL(options.publicUrl).host.toLowerCase()]);
  }

  /** The server listens on `port` now (0 in the config means it was chosen at listen). */
  listening(port: number): void {
    this.port = port;
    if (this.options.publicUrl) return;
    const names = new Set(['localhost', '127.0.0.1', '[::1]']);
    if (WILDCARDS.has(this.options.host)) {
      names.add(hostname().toLowerCase());
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bracket(a.address.toLowerCase()));
    } else names.add(bracket(this.options.host.toLowerCase()));
    const hosts = new Set<string>();
    for (const name of names) {
      hosts.add(`${name}:${port}`);
      if (port === 80 || port === 443) hosts.add(name);
    }
    this.known = hosts;
  }

  /** True when `host` (a Host header) names this server. Before `listening`, nothing does. */
  isKnown(host: string | undefined): boolean {
    return host !== undefined && (this.known?.has(host.toLowerCase()) ?? false);
  }

  /** The origin for links handed to other people: the public URL, or this request's when its Host is ours. */
  linkOrigin(req: IncomingMessage, auth: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>): string {
    if (this.options.publicUrl) return this.options.publicUrl;
    if (this.isKnown(req.headers.host)) return requestOrigin(req, auth);
    const host = WILDCARDS.has(this.options.host) ? '127.0.0.1' : bracket(this.options.host);
    return `http://${host}:${this.port ?? 0}`;
  }
}

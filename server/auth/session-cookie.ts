/**
 * The session cookie: HttpOnly, SameSite=Lax, Path=/; over HTTPS also Secure with the
 * `__Host-` prefix (which forbids a Domain attribute, so no sibling subdomain can set it).
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { AuthOptions } from '../config';
import { isSecure } from './origin-policy';

export const COOKIE = 'tandem_session';
export const SECURE_COOKIE = '__Host-tandem_session';

/**
 * The name the session cookie must have on this request: over HTTPS only the `__Host-` one.
 * Cookies do not separate schemes or sibling subdomains, so a plain `tandem_session` seen over
 * HTTPS may have been planted (over plain HTTP, or by another subdomain) to sign the victim
 * in to the attacker's account; only `__Host-` proves it was set by this origin, securely.
 */
export function sessionCookieName(req: IncomingMessage, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>): string {
  return isSecure(req, options) ? SECURE_COOKIE : COOKIE;
}

export function readSessionCookie(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>): string | undefined {
  return ctx.cookies.get(sessionCookieName(ctx.req, options));
}

function write(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>, value: string, maxAgeSeconds: number): void {
  const secure = isSecure(ctx.req, options);
  const name = secure ? SECURE_COOKIE : COOKIE;
  const attributes = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(secure ? ['Secure'] : [])];
  ctx.append('Set-Cookie', attributes.join('; '));
}

export function setSessionCookie(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>, token: string, expiresAt: Date): void {
  write(ctx, options, token, Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)));
}

export function clearSessionCookie(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>): void {
  write(ctx, options, '', 0);
}

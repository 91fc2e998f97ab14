/**
 * The session cookie: HttpOnly, SameSite=Lax, Path=/; over HTTPS also Secure with the
 * `__Host-` prefix (which forbids a Domain attribute, so no sibling subdomain can set it).
 */
import type { Context } from 'koa';
import type { AuthOptions } from '../config';
import { isSecure } from './origin-policy';

export const COOKIE = 'tandem_session';
export const SECURE_COOKIE = '__Host-tandem_session';

export function readSessionCookie(ctx: Context): string | undefined {
  return ctx.cookies.get(SECURE_COOKIE) ?? ctx.cookies.get(COOKIE);
}

function write(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy'>, value: string, maxAgeSeconds: number): void {
  const secure = isSecure(ctx.req, options);
  const name = secure ? SECURE_COOKIE : COOKIE;
  const attributes = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(secure ? ['Secure'] : [])];
  ctx.append('Set-Cookie', attributes.join('; '));
}

export function setSessionCookie(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy'>, token: string, expiresAt: Date): void {
  write(ctx, options, token, Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000)));
}

export function clearSessionCookie(ctx: Context, options: Pick<AuthOptions, 'publicUrl' | 'trustProxy'>): void {
  write(ctx, options, '', 0);
}

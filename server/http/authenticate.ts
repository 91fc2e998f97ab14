/**
 * Establishes who is calling: a personal access token (`Authorization: Bearer tnd_…`) or the
 * session cookie. A bearer token that does not validate is an error (the caller meant it); a
 * stale cookie is dropped and the request goes on anonymously.
 */
import type { Middleware } from 'koa';
import type { AccessTokenService } from '../auth/access-tokens';
import { anonymous, type Principal } from '../auth/principal';
import type { SessionService } from '../auth/sessions';
import type { AuthOptions } from '../config';
import type { RequestAuth } from './api';
import { DomainError } from '../errors';
import { clearSessionCookie, readSessionCookie } from '../auth/session-cookie';

export interface AuthenticateDeps {
  sessions: SessionService;
  tokens: AccessTokenService;
  options: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops'>;
}

export function authenticate({ sessions, tokens, options }: AuthenticateDeps): Middleware {
  return async (ctx, next) => {
    const auth: RequestAuth = { principal: anonymous, via: null };
    const header = ctx.get('authorization');
    if (header) {
      const match = /^Bearer (\S+)$/i.exec(header);
      const valid = match ? await tokens.validate(match[1]!) : null;
      if (!valid) throw new DomainError('invalid_token', 'the bearer token is unknown, revoked or malformed');
      auth.principal = { kind: 'user', user: valid.user, via: { kind: 'token', tokenId: valid.tokenId, scopes: valid.scopes } };
      auth.via = 'bearer';
    } else {
      const token = readSessionCookie(ctx, options);
      if (token) {
        const valid = await sessions.validateToken(token);
        if (valid) {
          auth.principal = { kind: 'user', user: valid.user, via: { kind: 'session', sessionId: valid.session.id } } satisfies Principal;
          auth.via = 'cookie';
        } else {
          clearSessionCookie(ctx, options);
        }
      }
    }
    Object.assign(ctx.state, auth);
    await next();
  };
}

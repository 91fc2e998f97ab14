/** Sign-up, sign-in, sign-out, my account, my sessions and tokens, sync tickets. */
import { z } from 'zod';
import * as schema from '../../../shared/api';
import type { Principal } from '../../auth/principal';
import type { SessionInfo } from '../../auth/sessions';
import { toUserInfo } from '../../auth/sessions';
import { userOf, type Api } from '../api';
import { clientIp } from '../../auth/client-address';
import { DomainError } from '../../errors';
import type { Services } from '../services';
import { clearSessionCookie, setSessionCookie } from '../../auth/session-cookie';

const sessionIdOf = (p: Principal): string | null => (p.kind === 'user' && p.via.kind === 'session' ? p.via.sessionId : null);

export function sessionView(s: SessionInfo, current: string | null): z.infer<typeof schema.session> {
  return { id: s.id, current: s.id === current, createdAt: s.createdAt.toISOString(), expiresAt: s.expiresAt.toISOString(), userAgent: s.userAgent, ip: s.ip };
}

export function accountRoutes(api: Api, s: Services): void {
  const cookieOptions = s.config.auth;

  api.route(
    {
      method: 'post',
      path: '/api/auth/signup',
      operationId: 'signUp',
      errors: ['signup_closed', 'too_many_signups', 'weak_password', 'email_taken', 'busy'],
      summary: 'Create an account and sign in',
      tag: 'auth',
      auth: 'public',
      body: schema.signUpBody,
      response: z.object({ user: schema.user }),
      status: 201,
    },
    async ({ body, ctx }) => {
      if (s.config.auth.signUp === 'closed') throw new DomainError('signup_closed', 'this server does not take sign-ups; an administrator creates accounts');
      const user = await s.accounts.signUp({ email: body.email, password: body.password, displayName: body.displayName ?? body.email.split('@')[0]!, ip: clientIp(ctx, s.config.auth) });
      const { token, session } = await s.sessions.create(user.id, { ip: clientIp(ctx, s.config.auth), userAgent: ctx.get('user-agent') });
      setSessionCookie(ctx, cookieOptions, token, session.expiresAt);
      return { user: toUserInfo(user) };
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/auth/login',
      operationId: 'signIn',
      errors: ['invalid_credentials', 'too_many_attempts', 'busy'],
      summary: 'Sign in (sets the session cookie)',
      tag: 'auth',
      auth: 'public',
      body: schema.signInBody,
      response: z.object({ user: schema.user }),
    },
    async ({ body, ctx }) => {
      const { user, token, expiresAt } = await s.accounts.signIn({
        email: body.email,
        password: body.password,
        ip: clientIp(ctx, s.config.auth),
        userAgent: ctx.get('user-agent'),
      });
      setSessionCookie(ctx, cookieOptions, token, expiresAt);
      return { user: toUserInfo(user) };
    },
  );

  api.route({ method: 'post', path: '/api/auth/logout', operationId: 'signOut', summary: 'Sign out (ends this session)', tag: 'auth', auth: 'public' }, async ({ principal, ctx }) => {
    const sessionId = sessionIdOf(principal);
    if (sessionId) await s.sessions.revoke(sessionId);
    clearSessionCookie(ctx, cookieOptions);
  });

  api.route({ method: 'get', path: '/api/me', operationId: 'getMe', summary: 'Who I am', tag: 'account', auth: 'user', response: z.object({ user: schema.user }) }, async ({ principal }) => ({
    user: userOf(principal),
  }));

  api.route(
    {
      method: 'post',
      path: '/api/me/password',
      operationId: 'changePassword',
      errors: ['wrong_current_password', 'weak_password', 'busy'],
      summary: 'Change my password (ends my other sessions; with revokeTokens, my access tokens too)',
      tag: 'account',
      auth: 'user',
      body: schema.changePasswordBody,
    },
    async ({ principal, body }) => {
      await s.accounts.changePassword(userOf(principal).id, body.currentPassword, body.newPassword, sessionIdOf(principal), body.revokeTokens);
    },
  );

  api.route(
    { method: 'get', path: '/api/me/sessions', operationId: 'listMySessions', summary: 'My sessions', tag: 'account', auth: 'user', response: z.object({ sessions: z.array(schema.session) }) },
    async ({ principal }) => ({ sessions: (await s.sessions.list(userOf(principal).id)).map((x) => sessionView(x, sessionIdOf(principal))) }),
  );

  api.route(
    {
      method: 'delete',
      path: '/api/me/sessions/:sessionId',
      operationId: 'endMySession',
      errors: ['not_found'],
      summary: 'End one of my sessions',
      tag: 'account',
      auth: 'user',
      params: z.object({ sessionId: z.string().regex(/^[0-9a-f]{64}$/) }),
    },
    async ({ principal, params }) => {
      if (!(await s.sessions.revoke(params.sessionId, userOf(principal).id))) throw new DomainError('not_found', 'no such session');
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/me/tokens',
      operationId: 'listMyTokens',
      summary: 'My personal access tokens',
      tag: 'account',
      auth: 'user',
      response: z.object({ tokens: z.array(schema.accessToken) }),
    },
    async ({ principal }) => ({
      tokens: (await s.tokens.list(userOf(principal).id)).map((t) => ({
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
      })),
    }),
  );

  api.route(
    {
      method: 'post',
      path: '/api/me/tokens',
      operationId: 'createToken',
      errors: ['forbidden'],
      summary: 'Create a personal access token (shown once)',
      tag: 'account',
      auth: 'user',
      body: schema.createTokenBody,
      response: schema.createdToken,
      status: 201,
    },
    async ({ principal, body }) => {
      const user = userOf(principal);
      if ((body.scopes.includes('admin') || body.scopes.includes('metrics')) && !user.isAdmin) throw new DomainError('forbidden', 'only administrators can create admin and metrics tokens');
      // A token cannot grant more than the token that creates it.
      if (principal.kind === 'user' && principal.via.kind === 'token') {
        const own = principal.via.scopes;
        if (body.scopes.some((sc) => !own.includes(sc))) throw new DomainError('insufficient_scope', 'a token cannot create a token with more scopes');
      }
      const { token, info } = await s.tokens.create(user.id, body.name, body.scopes);
      return { id: info.id, name: info.name, scopes: info.scopes, createdAt: info.createdAt.toISOString(), lastUsedAt: null, token };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/me/tokens/:tokenId',
      operationId: 'revokeMyToken',
      errors: ['not_found'],
      summary: 'Revoke one of my tokens',
      tag: 'account',
      auth: 'user',
      params: z.object({ tokenId: schema.id }),
    },
    async ({ principal, params }) => {
      if (!(await s.tokens.revoke(params.tokenId, userOf(principal).id))) throw new DomainError('not_found', 'no such token');
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/sync-tickets',
      operationId: 'createSyncTicket',
      errors: ['session_required'],
      summary: 'A single-use, 30-second ticket to open /sync as this session (for extensions)',
      tag: 'sync',
      auth: 'user',
      response: schema.syncTicket,
      status: 201,
    },
    async ({ principal, ctx }) => {
      const sessionId = sessionIdOf(principal);
      if (!sessionId) throw new DomainError('session_required', 'tickets are for signed-in browsers; scripts send their token on the upgrade');
      const { ticket, expiresAt } = await s.tickets.create(sessionId);
      const origin = s.hosts.linkOrigin(ctx.req, s.config.auth).replace(/^http/, 'ws');
      return { ticket, expiresAt: expiresAt.toISOString(), url: `${origin}/sync?ticket=${ticket}` };
    },
  );
}

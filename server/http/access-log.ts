/**
 * One `http.request` line per HTTP request, once it is answered: method, route (the pattern
 * that matched, like `/api/documents/:docId`; the path only when none did), status, duration,
 * the user, and the client's address. Never the query string (`/login?next=…`, and tickets
 * travel in `/sync?ticket=…`), never a header.
 */
import type { Middleware } from 'koa';
import { clientIp } from '../auth/client-address';
import type { AuthOptions } from '../config';
import type { Logger } from '../logger';
import type { RequestAuth } from './api';

export function accessLog(log: Logger, options: Pick<AuthOptions, 'trustProxy' | 'proxyHops'>): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const { principal } = ctx.state as Partial<RequestAuth>;
      // Set by @koa/router on the request it routed (not in its types).
      const route = (ctx as { _matchedRoute?: string })._matchedRoute;
      log.info('http.request', {
        method: ctx.method,
        route: route ?? null,
        ...(route ? {} : { path: ctx.path }),
        status: ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        userId: principal?.kind === 'user' ? principal.user.id : null,
        address: clientIp(ctx, options),
      });
    }
  };
}

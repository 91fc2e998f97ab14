/**
 * The Koa application: health, the REST API (`/api`, described at `/api/openapi.json`) and
 * the pages. The WebSocket endpoint shares its HTTP server but not its middleware.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Metrics } from '../metrics';
import { accessLog } from './access-log';
import { Api, type RequestAuth } from './api';
import { hasScope } from '../auth/principal';
import { metricsText } from './metrics-endpoint';
import { authenticate } from './authenticate';
import { DomainError } from '../errors';
import { sendError } from './error-status';
import { isSecure } from '../auth/origin-policy';
import { COOKIE, SECURE_COOKIE } from '../auth/session-cookie';
import { pageRoutes } from './pages';
import { accountRoutes } from './routes/account';
import { adminRoutes } from './routes/admin';
import { documentRoutes } from './routes/documents';
import { historyRoutes } from './routes/history';
import type { Services } from './services';

export interface AppDeps {
  services: Services;
  /** True when the database answers and migrations are done. */
  isReady: () => Promise<boolean>;
  /** Served at `/metrics` to a token with the `metrics` or `admin` scope. */
  metrics: Metrics;
}

/** Routes that sign in and set the session cookie. */
const SESSION_SETTING_PATHS: ReadonlySet<string> = new Set(['/api/auth/login', '/api/auth/signup', '/login', '/signup']);

/** Every REST route on `router`; the returned Api describes them (`openapi()`). */
export function declareApi(router: Router, services: Services): Api {
  const api = new Api(router, services.config.auth);
  accountRoutes(api, services);
  documentRoutes(api, services);
  historyRoutes(api, services);
  adminRoutes(api, services);
  return api;
}

export function createApp({ services, isReady, metrics }: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();
  const { log } = services;

  // Outermost, so that it sees the status the error handler chose.
  app.use(accessLog(log, services.config.auth));

  // One error shape for every failure; unexpected errors are logged (with their stack) and not leaked.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof DomainError) {
        // A bearer token that did not validate (authenticate.ts): a refused credential.
        if (error.code === 'invalid_token') metrics.authFailure('invalid_token');
        sendError(ctx, error);
      } else {
        log.error('http.unhandled', { method: ctx.method, route: (ctx as { _matchedRoute?: string })._matchedRoute ?? null, path: ctx.path, error });
        ctx.status = 500;
        ctx.body = { error: { code: 'internal_error', message: 'internal error' } };
      }
    }
  });

  // Over HTTPS, browsers are told to use nothing else for a year (not includeSubDomains: other
  // sites of the domain are not ours to decide for).
  app.use(async (ctx, next) => {
    if (isSecure(ctx.req, services.config.auth)) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  });

  // API and health responses are never cached by browsers or CDNs (pages set their own headers).
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/metrics') || ctx.path === '/healthz' || ctx.path === '/readyz') {
      ctx.set('Cache-Control', 'no-store');
      ctx.set('X-Content-Type-Options', 'nosniff');
    }
    await next();
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    if (!(await isReady())) throw new DomainError('not_ready', 'the database is unreachable');
    ctx.body = { status: 'ready' };
  });

  router.get('/metrics', async (ctx) => {
    const { principal } = ctx.state as RequestAuth;
    if (!hasScope(principal, 'metrics') && !hasScope(principal, 'admin')) {
      metrics.authFailure('metrics_unauthorized');
      if (principal.kind !== 'user') throw new DomainError('unauthenticated', 'send a personal access token with the metrics scope');
      throw new DomainError('insufficient_scope', 'this needs a token with the metrics or admin scope');
    }
    ctx.type = metrics.contentType;
    ctx.body = await metricsText(metrics, ctx.query.gc === '1');
  });

  // DNS rebinding and Host spoofing (host-policy.ts): the session cookie is used, and set, only
  // on this server's own names.
  app.use(async (ctx, next) => {
    const carriesSession = ctx.cookies.get(COOKIE) !== undefined || ctx.cookies.get(SECURE_COOKIE) !== undefined;
    const setsSession = ctx.method === 'POST' && SESSION_SETTING_PATHS.has(ctx.path);
    if ((carriesSession || setsSession) && !services.hosts.isKnown(ctx.get('host') || undefined)) {
      throw new DomainError('unknown_host', 'this server does not answer to that host name; set TANDEM_PUBLIC_URL if it is reached by another one');
    }
    await next();
  });

  app.use(authenticate({ sessions: services.sessions, tokens: services.tokens, options: services.config.auth }));

  const openapi = declareApi(router, services).openapi({ title: 'Tandem', version: '1' });
  router.get('/api/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  pageRoutes(router, services);

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new DomainError('not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}

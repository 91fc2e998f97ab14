/**
 * The Koa application: health, the REST API (`/api`, described at `/api/openapi.json`) and
 * the pages. The WebSocket endpoint shares its HTTP server but not its middleware.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Metrics } from '../metrics';
import { Api } from './api';
import { authenticate } from './authenticate';
import { HttpError } from './http-error';
import { pageRoutes } from './pages';
import { accountRoutes } from './routes/account';
import { adminRoutes } from './routes/admin';
import { documentRoutes } from './routes/documents';
import type { Services } from './services';

export interface AppDeps {
  services: Services;
  /** True when the database answers and migrations are done. */
  isReady: () => Promise<boolean>;
  /** Served unauthenticated at `/metrics` when given. */
  metrics: Metrics | null;
}

export function createApp({ services, isReady, metrics }: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();
  const { log } = services;

  // One error shape for every failure; unexpected errors are logged and not leaked.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError) {
        ctx.status = error.status;
        ctx.body = { error: { code: error.code, message: error.message } };
      } else {
        log.error('http.unhandled', { path: ctx.path, error });
        ctx.status = 500;
        ctx.body = { error: { code: 'internal_error', message: 'internal error' } };
      }
    }
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
    if (!(await isReady())) throw new HttpError(503, 'not_ready', 'the database is unreachable');
    ctx.body = { status: 'ready' };
  });

  if (metrics) {
    router.get('/metrics', (ctx) => {
      // `?gc=1` collects garbage first (when node runs with --expose-gc), for memory figures.
      if (ctx.query.gc === '1') (globalThis as { gc?: () => void }).gc?.();
      ctx.body = metrics.snapshot();
    });
    router.post('/metrics/reset', (ctx) => {
      metrics.resetEventLoop();
      ctx.status = 204;
    });
  }

  app.use(authenticate({ sessions: services.sessions, tokens: services.tokens, options: services.config.auth }));

  const api = new Api(router, services.config.auth);
  accountRoutes(api, services);
  documentRoutes(api, services);
  adminRoutes(api, services);
  const openapi = api.openapi({ title: 'Tandem', version: '1' });
  router.get('/api/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  pageRoutes(router, services);

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}

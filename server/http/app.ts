/**
 * The Koa application: health endpoints, the REST API, and the pages. The WebSocket endpoint
 * shares its HTTP server but not its middleware (see `tandem-server.ts`).
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Kysely } from 'kysely';
import { insertDocument } from '../../db/repositories/documents';
import type { Database } from '../../db/schema';
import { newDocumentId } from '../../shared/ids';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { HttpError } from './http-error';
import { homePage } from './pages';

export interface AppDeps {
  db: Kysely<Database>;
  log: Logger;
  /** True when the database answers and migrations are done. */
  isReady: () => Promise<boolean>;
  /** Served at `/metrics` when given. */
  metrics: Metrics | null;
}

export function createApp({ db, log, isReady, metrics }: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();

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

  // API and health responses are never cached by browsers or CDNs.
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/metrics') || ctx.path === '/healthz' || ctx.path === '/readyz') {
      ctx.set('Cache-Control', 'no-store');
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

  // Anyone may create a document until the auth issue puts accounts in front of this.
  router.post('/api/documents', async (ctx) => {
    const row = await insertDocument(db, newDocumentId());
    ctx.status = 201;
    ctx.body = { id: row.id, createdAt: row.created_at.toISOString() };
  });

  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage();
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}

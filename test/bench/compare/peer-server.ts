/**
 * The servers Tandem is compared with, each in its own process with persistence on, in its
 * documented production-like setup: `tsx peer-server.ts <kind> <DATABASE_URL>`. Prints
 * `{"listening":port}` on stdout once it accepts connections. Benchmark-only code.
 *
 * - hocuspocus: @hocuspocus/server 3 (4 needs Node 22) with its Database extension on Postgres
 *   (whole-document store, debounced 2 s / max 10 s: its defaults); given a Redis URL (third
 *   argument), also its Redis extension, for running several processes.
 * - y-websocket: @y/websocket-server's connection handler with a Postgres persistence (every
 *   update appended as it is applied). The Yjs protocol has no acknowledgements.
 * - loro: loro-websocket's SimpleServer with onLoad/onSave on Postgres (snapshot every saveInterval).
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocketServer } from 'ws';

const [kind, databaseUrl, redisUrl] = process.argv.slice(2);
if (!kind || !databaseUrl) throw new Error('usage: peer-server.ts <hocuspocus|y-websocket|loro> <DATABASE_URL>');
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
// A dropped connection fails the query that used it; it must not take the server down.
pool.on('error', (error) => process.stderr.write(`[pool] ${error.message}\n`));

async function main(): Promise<number> {
  if (kind === 'hocuspocus') {
    const { Server } = await import('@hocuspocus/server');
    const { Database } = await import('@hocuspocus/extension-database');
    await pool.query('create table if not exists bench_hocuspocus (name text primary key, data bytea not null)');
    // With a Redis URL: several processes share documents through @hocuspocus/extension-redis.
    const redis = redisUrl ? new (await import('@hocuspocus/extension-redis')).Redis({ host: new URL(redisUrl).hostname, port: Number(new URL(redisUrl).port || 6379) }) : null;
    const server = new Server({
      port: 0,
      quiet: true,
      extensions: [
        ...(redis ? [redis] : []),
        new Database({
          fetch: async ({ documentName }) => (await pool.query('select data from bench_hocuspocus where name = $1', [documentName])).rows[0]?.data ?? null,
          store: async ({ documentName, state }) => {
            await pool.query('insert into bench_hocuspocus (name, data) values ($1, $2) on conflict (name) do update set data = excluded.data', [documentName, state]);
          },
        }),
      ],
    });
    await server.listen();
    return (server.httpServer.address() as { port: number }).port;
  }
  if (kind === 'y-websocket') {
    const Y = await import('yjs');
    const { setupWSConnection, setPersistence } = await import('@y/websocket-server/utils');
    await pool.query('create table if not exists bench_yws (seq bigserial primary key, name text not null, update bytea not null)');
    // Inserts queue on the pool (a replay queues 260k of them); on SIGTERM they are drained
    // before exiting, as a server that appends every update would on a graceful shutdown.
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>): void => {
      const done = p.catch((error: unknown) => process.stderr.write(`[y-websocket store] ${String(error)}\n`)).finally(() => pending.delete(done));
      pending.add(done);
    };
    process.once('SIGTERM', () => void Promise.all(pending).then(() => process.exit(0)));
    setPersistence({
      provider: pool,
      bindState: async (name: string, ydoc: InstanceType<typeof Y.Doc>) => {
        // Listening before the stored rows are read: an update arriving meanwhile is stored too.
        const loaded = Symbol('loaded');
        ydoc.on('update', (update: Uint8Array, origin: unknown) => {
          if (origin !== loaded) track(pool.query('insert into bench_yws (name, update) values ($1, $2)', [name, update]));
        });
        const rows = (await pool.query('select update from bench_yws where name = $1 order by seq', [name])).rows as { update: Buffer }[];
        Y.transact(ydoc, () => rows.forEach((r) => Y.applyUpdate(ydoc, r.update)), loaded);
      },
      writeState: async () => {},
    });
    const http = createServer((_req, res) => res.writeHead(200).end('ok'));
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (conn, req) => setupWSConnection(conn, req));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return (http.address() as { port: number }).port;
  }
  if (kind === 'loro') {
    const { SimpleServer } = await import('loro-websocket/server');
    await pool.query('create table if not exists bench_loro (room text primary key, data bytea not null)');
    // SimpleServer takes a fixed port: find a free one first.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = new SimpleServer({
      port,
      host: '127.0.0.1',
      onLoadDocument: async (room) => (await pool.query('select data from bench_loro where room = $1', [room])).rows[0]?.data ?? null,
      onSaveDocument: async (room, _crdt, data) => {
        await pool.query('insert into bench_loro (room, data) values ($1, $2) on conflict (room) do update set data = excluded.data', [room, data]);
      },
    });
    await server.start();
    return port;
  }
  throw new Error(`unknown server kind ${kind}`);
}

main().then(
  (port) => process.stdout.write(`${JSON.stringify({ listening: port })}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

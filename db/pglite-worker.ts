/**
 * The worker thread that runs embedded Postgres (PGlite). PGlite executes every query
 * synchronously in WebAssembly on the thread that owns it, and its promises resolve without
 * I/O, so on the main thread a stream of commits starves the event loop (measured: 0.5 s
 * stalls under 50 writers). Here it runs on its own thread, in parallel with the sync rooms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteErrorData, PGliteReply, PGliteRequest, PGliteWorkerOptions } from './pglite-protocol';

const BYTEA_OID = 17;
const options = workerData as PGliteWorkerOptions;
const port = parentPort!;

const ready = PGlite.create({
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  ...(options.loadDataDir ? { loadDataDir: new Blob([options.loadDataDir]) } : {}),
  // PGlite's own bytea handling converts byte by byte in JS. Send bytes as binary parameters
  // instead, and decode results with Node's native hex decoder.
  serializers: { [BYTEA_OID]: ((bytes: Uint8Array) => bytes) as unknown as (value: unknown) => string },
  parsers: { [BYTEA_OID]: (hex: string) => Buffer.from(hex.slice(2), 'hex') },
});

function reply(message: PGliteReply): void {
  port.postMessage(message);
}

function describeError(error: unknown): PGliteErrorData {
  const e = error as { message?: string; code?: string; detail?: string; constraint?: string; name?: string };
  return { message: e.message ?? String(error), code: e.code, detail: e.detail, constraint: e.constraint, name: e.name };
}

ready.then(
  () => reply({ type: 'ready' }),
  (error: unknown) => reply({ type: 'failed', error: describeError(error) }),
);

port.on('message', (request: PGliteRequest) => {
  void ready.then(async (pg) => {
    if (request.type === 'close') {
      await pg.close();
      reply({ type: 'closed' });
      return;
    }
    try {
      const result = await pg.query(request.sql, request.params, { rowMode: 'object' });
      reply({ type: 'result', id: request.id, rows: result.rows as Record<string, unknown>[], affectedRows: result.affectedRows });
    } catch (error) {
      reply({ type: 'error', id: request.id, error: describeError(error) });
    }
  });
});

/**
 * The worker thread that runs embedded Postgres (PGlite). PGlite executes every query
 * synchronously in WebAssembly on the thread that owns it, and its promises resolve without
 * I/O, so on the main thread a stream of commits starves the event loop (measured: 0.5 s
 * stalls under 50 writers). Here it runs on its own thread, in parallel with the sync rooms.
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import type { PGliteErrorData, PGliteReply, PGliteRequest, PGliteWorkerOptions } from './pglite-protocol';

const BYTEA_OID = 17;
const options = workerData as PGliteWorkerOptions;
const port = parentPort!;

// PGlite's emscripten file system creates files 0666 and folders 0777 and chmods them so
// (Postgres's own umask is a stub there); process.umask() cannot be set in a worker. This
// thread runs nothing but PGlite, so its file-system calls here drop group and other bits:
// the data folder stays its owner's only (data-dir.ts fixes folders made before).
const OWNER_ONLY = 0o700;
const ownerOnly = (mode: unknown): unknown => (typeof mode === 'number' ? mode & OWNER_ONLY : mode);
const { writeFileSync, mkdirSync, chmodSync, fchmodSync, openSync } = fs;
Object.assign(fs, {
  writeFileSync: (path: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, opts?: fs.WriteFileOptions) =>
    writeFileSync(path, data, typeof opts === 'object' && opts !== null ? { ...opts, mode: ownerOnly(opts.mode) as number | undefined } : opts),
  mkdirSync: (path: fs.PathLike, opts?: fs.Mode | fs.MakeDirectoryOptions | null) =>
    mkdirSync(path, typeof opts === 'object' && opts !== null ? { ...opts, mode: ownerOnly(opts.mode) as fs.Mode | undefined } : (ownerOnly(opts) as fs.Mode)),
  chmodSync: (path: fs.PathLike, mode: fs.Mode) => chmodSync(path, ownerOnly(mode) as fs.Mode),
  fchmodSync: (fd: number, mode: fs.Mode) => fchmodSync(fd, ownerOnly(mode) as fs.Mode),
  openSync: (path: fs.PathLike, flags: fs.OpenMode = 'r', mode?: fs.Mode | null) => openSync(path, flags, ownerOnly(mode) as fs.Mode | null | undefined),
});

/**
 * Postgres's memory settings for an embedded server. PGlite starts with 160 MB of shared
 * buffers, a large part of the embedded server's idle RSS; one single-user backend needs far
 * less, and pages it does not cache stay in the kernel's page cache (PGlite reads the data
 * folder through the file system). 32 MB, not 16: at 16 MB, 50 writers' commits took ~1.6×
 * as long (the log's index and heap pages no longer fit). Big sites run on real Postgres.
 */
const EMBEDDED_POSTGRES_CONF = ['shared_buffers = 32MB', 'temp_buffers = 1MB', 'maintenance_work_mem = 16MB'];

const ready = PGlite.create({
  postgresqlconf: EMBEDDED_POSTGRES_CONF,
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

/** The main-thread side of the embedded-Postgres worker: a `QueryTarget` over messages. */
import type { Worker } from 'node:worker_threads';
import type { QueryTarget } from './pglite-dialect';
import type { PGliteErrorData, PGliteReply, PGliteRequest, PGliteWorkerOptions } from './pglite-protocol';
import { startTsWorker } from './ts-worker';

/** An error raised by embedded Postgres; `code` is its SQLSTATE. */
export class EmbeddedDatabaseError extends Error {
  override readonly name = 'EmbeddedDatabaseError';
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(data: PGliteErrorData) {
    super(data.message);
    this.code = data.code;
    this.detail = data.detail;
    this.constraint = data.constraint;
  }
}

/** The code of the error every query gets once the worker has stopped. */
export const EMBEDDED_STOPPED = 'embedded_stopped';

type Waiter = { resolve: (result: { rows: unknown[]; affectedRows: number | undefined }) => void; reject: (error: Error) => void };

export class PGliteWorkerClient implements QueryTarget {
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: PGliteReply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (!waiter) return;
      if (reply.type === 'result') waiter.resolve({ rows: reply.rows, affectedRows: reply.affectedRows });
      else waiter.reject(new EmbeddedDatabaseError(reply.error));
    });
    const die = (error: Error): void => {
      this.dead ??= error;
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    worker.on('error', (error) => die(new EmbeddedDatabaseError({ message: `embedded Postgres failed: ${error.message}`, code: EMBEDDED_STOPPED })));
    worker.on('exit', (code) => die(new EmbeddedDatabaseError({ message: `embedded Postgres stopped (worker exit ${code})`, code: EMBEDDED_STOPPED })));
  }

  /** Starts PGlite in a worker thread; resolves once it accepts queries. */
  static async start(options: PGliteWorkerOptions): Promise<PGliteWorkerClient> {
    // PGlite's work happens in wasm memory; its JavaScript allocates little but query results,
    // so a small young generation saves ~15 MB of idle RSS (V8 sizes it for busy JS).
    const worker = startTsWorker(new URL('./pglite-worker.ts', import.meta.url), options, { maxYoungGenerationSizeMb: 4 });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: PGliteReply): void => {
        if (reply.type === 'ready') resolve();
        else if (reply.type === 'failed') reject(new EmbeddedDatabaseError(reply.error));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`embedded Postgres failed to start (worker exit ${code})`)));
    });
    return new PGliteWorkerClient(worker);
  }

  query(sql: string, params: readonly unknown[]): Promise<{ rows: unknown[]; affectedRows: number | undefined }> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const request: PGliteRequest = { type: 'query', id, sql, params: [...params] };
      this.worker.postMessage(request);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.dead) {
        const closed = new Promise<void>((resolve) => {
          this.worker.on('message', (reply: PGliteReply) => {
            if (reply.type === 'closed') resolve();
          });
          this.worker.once('exit', () => resolve());
        });
        this.worker.postMessage({ type: 'close' } satisfies PGliteRequest);
        await closed;
      }
      await this.worker.terminate();
    })();
    return this.closing;
  }
}

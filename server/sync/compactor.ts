/**
 * Builds Loro snapshots off the event loop. Exporting a snapshot of a large document takes
 * tens to hundreds of milliseconds (automerge-paper: ~30 ms; its history ×10: ~300 ms), which
 * on the main thread would stall every room; a worker thread keeps them responsive.
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../db/ts-worker';

export interface Compacted {
  snapshot: Uint8Array;
  /** Updates still waiting for their dependencies, which a snapshot leaves out. */
  pending: Uint8Array | null;
}

export interface Compactor {
  /** A Loro snapshot of the document made of `parts` (snapshots and/or updates). */
  snapshot(parts: Uint8Array[]): Promise<Compacted>;
  close(): Promise<void>;
}

type Reply = { id: number; snapshot: Uint8Array; pending: Uint8Array | null } | { id: number; error: string };


export class WorkerCompactor implements Compactor {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (c: Compacted) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startTsWorker(new URL('./compaction-worker.ts', import.meta.url));
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(new Error(`snapshot failed: ${reply.error}`));
      else waiter.resolve({ snapshot: reply.snapshot, pending: reply.pending });
    });
    const failAll = (error: Error): void => {
      this.worker = null;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`compaction worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  snapshot(parts: Uint8Array[]): Promise<Compacted> {
    const worker = this.start();
    const id = this.nextId++;
    // Referenced only while a snapshot is pending: an idle worker never keeps the process alive.
    worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, parts });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}

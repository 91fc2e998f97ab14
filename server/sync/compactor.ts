/**
 * A document's heavy work, in a worker thread with a time budget: snapshots (compaction), text
 * export, and checking a snapshot a client sent. On the event loop, any of these stalls every
 * room for as long as it takes: one text export of a 64 MiB document stopped a node from
 * answering health checks, and from handling SIGTERM, for minutes. Jobs run one at a time;
 * one that outlives its budget fails with `HeavyWorkTimeout` and the thread is replaced (a
 * thread cannot be interrupted otherwise), so the jobs after it still run.
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../db/ts-worker';
import { DomainError, HeavyWorkPanic, HeavyWorkTimeout } from '../errors';
import type { HeavyJob } from './compaction-worker';
import type { UpdateCheck, UpdateLimits } from './update-check';
import type { VersionJson } from '../history/version-groups';
import type { DiffPart, RichRun, VersionAt, VersionContent } from '../history/version-work';

export interface Compacted {
  snapshot: Uint8Array;
  /** Updates still waiting for their dependencies, which a snapshot leaves out. */
  pending: Uint8Array | null;
  /** UTF-8 bytes of the document's text at the snapshot. */
  textBytes: number;
}

export interface Compactor {
  /** A Loro snapshot of the document made of `parts` (snapshots and/or updates); with
   *  `shallowAt`, a shallow one that keeps only the history after that version. `asked`: for
   *  a person (an export), refused as `busy` when too many jobs wait; a compaction always waits. */
  snapshot(parts: Uint8Array[], shallowAt?: VersionJson | null, asked?: boolean): Promise<Compacted>;
  /** The text of the document made of `parts`. */
  text(parts: Uint8Array[]): Promise<string>;
  /** Checks a snapshot a client sent (update-check.ts). */
  checkSnapshot(bytes: Uint8Array, limits: UpdateLimits): Promise<UpdateCheck>;
  /** The text, formatting and (when asked) authors of the document at `version` (null: all of it). */
  version(at: VersionAt, authors: boolean): Promise<VersionContent>;
  /** A word diff of the texts at two versions. */
  diff(from: VersionAt, to: VersionAt): Promise<DiffPart[]>;
  /** The update that restores `version` as a new change; null when there is nothing to change. */
  restore(parts: Uint8Array[], version: VersionJson | null): Promise<{ update: Uint8Array; peer: string; text: string } | null>;
  /** A new document's first update, holding formatted text. */
  fromRuns(runs: RichRun[]): Promise<{ update: Uint8Array; peer: string }>;
  close(): Promise<void>;
}

interface Queued {
  job: HeavyJob;
  transfer: ArrayBuffer[];
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

type Reply = { id: number; result: unknown } | { id: number; error: string; panic: boolean };

/** Jobs that may wait before what people ask for is refused (see `submit`). */
export const MAX_WAITING = 16;

export class WorkerCompactor implements Compactor {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly queue: Queued[] = [];
  private running: { id: number; queued: Queued; timer: NodeJS.Timeout } | null = null;
  private closed = false;
  /** Threads started so far (a timeout or a failed job replaces the thread). */
  threadsStarted = 0;

  /** The job running now (its kind) and how many wait, for /metrics. */
  get activity(): { running: HeavyJob['kind'] | null; queued: number } {
    return { running: this.running?.queued.job.kind ?? null, queued: this.queue.length };
  }

  /** `timeoutMs`: the budget of one job (TANDEM_HEAVY_WORK_TIMEOUT_MS). */
  constructor(private readonly options: { timeoutMs?: number } = {}) {}

  /** `asked`: for a person (an export), refused when busy; a compaction (the default) always waits its turn. */
  snapshot(parts: Uint8Array[], shallowAt?: VersionJson | null, asked = false): Promise<Compacted> {
    return this.submit({ kind: 'snapshot', parts, shallowAt: shallowAt ?? null }, asked) as Promise<Compacted>;
  }

  text(parts: Uint8Array[]): Promise<string> {
    return this.submit({ kind: 'text', parts }) as Promise<string>;
  }

  checkSnapshot(bytes: Uint8Array, limits: UpdateLimits): Promise<UpdateCheck> {
    return this.submit({ kind: 'check_snapshot', bytes, limits }) as Promise<UpdateCheck>;
  }

  version(at: VersionAt, authors: boolean): Promise<VersionContent> {
    return this.submit({ kind: 'version', at, authors }) as Promise<VersionContent>;
  }

  diff(from: VersionAt, to: VersionAt): Promise<DiffPart[]> {
    return this.submit({ kind: 'diff', from, to }) as Promise<DiffPart[]>;
  }

  restore(parts: Uint8Array[], version: VersionJson | null): Promise<{ update: Uint8Array; peer: string; text: string } | null> {
    return this.submit({ kind: 'restore', parts, version }) as Promise<{ update: Uint8Array; peer: string; text: string } | null>;
  }

  fromRuns(runs: RichRun[]): Promise<{ update: Uint8Array; peer: string }> {
    return this.submit({ kind: 'from_runs', runs }) as Promise<{ update: Uint8Array; peer: string }>;
  }

  /**
   * Queues a job. What people ask for (`asked`: exports, versions, restores, snapshot checks) is
   * refused as `busy` while MAX_WAITING jobs wait: each holds a whole document, and one account
   * asking for exports in a loop would otherwise hold the node's memory and its compactions.
   */
  private submit(job: HeavyJob, asked = true): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the heavy-work thread is closed'));
    if (asked && this.queue.length >= MAX_WAITING) return Promise.reject(new DomainError('busy', 'the server is busy with exports and history; try again in a moment', 5));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, transfer: [], resolve, reject });
      this.pump();
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startTsWorker(new URL('./compaction-worker.ts', import.meta.url));
    this.threadsStarted++;
    worker.on('message', (reply: Reply) => {
      const running = this.running;
      if (!running || running.id !== reply.id) return;
      clearTimeout(running.timer);
      this.running = null;
      if ('error' in reply) {
        running.queued.reject(reply.panic ? new HeavyWorkPanic(running.queued.job.kind, reply.error) : new Error(`${running.queued.job.kind} failed: ${reply.error}`));
        // A failed job may be a Loro panic (out of WebAssembly memory, which never shrinks):
        // the next job gets a fresh thread. Its `exit` finds nothing running.
        this.worker = null;
        void worker.terminate();
      } else running.queued.resolve(reply.result);
      this.pump();
    });
    const lost = (error: Error): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      const running = this.running;
      this.running = null;
      if (running) {
        clearTimeout(running.timer);
        running.queued.reject(error);
      }
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the heavy-work thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private pump(): void {
    if (this.running || this.closed) {
      if (!this.running && this.worker) this.worker.unref();
      return;
    }
    const queued = this.queue.shift();
    if (!queued) {
      // An idle worker never keeps the process alive.
      this.worker?.unref();
      return;
    }
    const worker = this.start();
    worker.ref();
    const id = this.nextId++;
    const budget = this.options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      if (this.running?.id !== id) return;
      this.running = null;
      queued.reject(new HeavyWorkTimeout(queued.job.kind, budget));
      // The only way to stop it: replace the thread. Its `exit` finds nothing running.
      this.worker = null;
      void worker.terminate();
      this.pump();
    }, budget);
    this.running = { id, queued, timer };
    worker.postMessage({ id, job: queued.job });
  }

  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the heavy-work thread is closed');
    if (this.running) {
      clearTimeout(this.running.timer);
      this.running.queued.reject(error);
      this.running = null;
    }
    for (const q of this.queue.splice(0)) q.reject(error);
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}

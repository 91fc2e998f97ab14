/**
 * Figures about one node: sockets, rooms, committed updates, event-loop delay and memory.
 * Served at `/metrics` when enabled; the admin API will serve the same.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface MetricsSource {
  connections(): number;
  loadedDocuments(): number;
}

export interface MetricsSnapshot {
  connections: number;
  loadedDocuments: number;
  commits: number;
  updatesCommitted: number;
  /** Event-loop delay since the last reset, in milliseconds. */
  eventLoop: { maxMs: number; p99Ms: number; meanMs: number };
  memory: NodeJS.MemoryUsage;
}

export class Metrics {
  commits = 0;
  updatesCommitted = 0;
  private readonly loop: IntervalHistogram;

  constructor(private readonly source: MetricsSource) {
    this.loop = monitorEventLoopDelay({ resolution: 5 });
    this.loop.enable();
  }

  recordCommit(updates: number): void {
    this.commits += 1;
    this.updatesCommitted += updates;
  }

  /** Clears the event-loop histogram (to measure one period). */
  resetEventLoop(): void {
    this.loop.reset();
  }

  snapshot(): MetricsSnapshot {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    return {
      connections: this.source.connections(),
      loadedDocuments: this.source.loadedDocuments(),
      commits: this.commits,
      updatesCommitted: this.updatesCommitted,
      eventLoop: { maxMs: ms(this.loop.max), p99Ms: ms(this.loop.percentile(99)), meanMs: ms(this.loop.mean) },
      memory: process.memoryUsage(),
    };
  }

  close(): void {
    this.loop.disable();
  }
}

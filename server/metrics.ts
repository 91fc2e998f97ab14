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
  updatesPerSecond: number;
  /**
   * Other nodes' commits this node took: applied from their doorbells, and reads of the log
   * (a doorbell without its entry, a gap, the head check). Reads climbing with load mean the
   * bus is dropping messages or entries are too large to ride along.
   */
  otherNodes: { entriesFromDoorbells: number; logReads: number };
  /** Event-loop delay since the last reset, in milliseconds. */
  eventLoop: { maxMs: number; p99Ms: number; meanMs: number };
  memory: NodeJS.MemoryUsage;
}

/** Updates per second are averaged over this many one-second buckets. */
const RATE_WINDOW_S = 10;

export class Metrics {
  commits = 0;
  updatesCommitted = 0;
  private entriesFromDoorbells = 0;
  private logReads = 0;
  private readonly loop: IntervalHistogram;
  /** Updates committed per second, for the last RATE_WINDOW_S seconds (by epoch second). */
  private readonly perSecond = new Map<number, number>();

  constructor(private readonly source: MetricsSource) {
    this.loop = monitorEventLoopDelay({ resolution: 5 });
    this.loop.enable();
  }

  recordCommit(updates: number): void {
    this.commits += 1;
    this.updatesCommitted += updates;
    const second = Math.floor(Date.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + updates);
    for (const key of this.perSecond.keys()) if (key <= second - RATE_WINDOW_S) this.perSecond.delete(key);
  }

  otherNodes(source: 'doorbell' | 'log read'): void {
    if (source === 'doorbell') this.entriesFromDoorbells += 1;
    else this.logReads += 1;
  }

  /** Updates made durable per second, over the last ten seconds. */
  updatesPerSecond(): number {
    const now = Math.floor(Date.now() / 1000);
    let total = 0;
    for (const [second, n] of this.perSecond) if (second > now - RATE_WINDOW_S) total += n;
    return Math.round((total / RATE_WINDOW_S) * 10) / 10;
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
      updatesPerSecond: this.updatesPerSecond(),
      otherNodes: { entriesFromDoorbells: this.entriesFromDoorbells, logReads: this.logReads },
      eventLoop: { maxMs: ms(this.loop.max), p99Ms: ms(this.loop.percentile(99)), meanMs: ms(this.loop.mean) },
      memory: process.memoryUsage(),
    };
  }

  close(): void {
    this.loop.disable();
  }
}

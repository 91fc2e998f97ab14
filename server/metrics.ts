/**
 * Figures about one node, in the Prometheus text format (prom-client): the runtime's defaults
 * (`process_*`, `nodejs_*`) and Tandem's own (`tandem_*`, each explained in the README's
 * "Metrics"). Each server has a registry of its own, so that servers sharing a process (tests)
 * do not add up. `snapshot()` gives a few of the same figures to the admin API and to tests.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsSource {
  connections(): number;
  loadedDocuments(): number;
  heavyWork(): MetricsSnapshot['heavyWork'];
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
  /** Requests and messages refused by an abuse limit, by limit (see README "Limits"). */
  limitHits: Record<string, number>;
  /** Joins waiting now for the database to come back. */
  joinsWaitingForStorage: number;
  /** The heavy-work thread: the kind of job running now (`text`, `snapshot`, …) and the jobs waiting. */
  heavyWork: { running: string | null; queued: number };
  /** Event-loop delay since the server started, in milliseconds. */
  eventLoop: { maxMs: number; p99Ms: number; meanMs: number };
  memory: NodeJS.MemoryUsage;
}

/** Why a credential was refused (`tandem_auth_failures_total{reason}`): a closed set, so the label stays small. */
export type AuthFailureReason =
  | 'unknown_account'
  | 'wrong_password'
  | 'disabled_account'
  | 'sign_in_throttled'
  | 'wrong_current_password'
  | 'invalid_token'
  | 'invalid_ticket'
  | 'extension_without_ticket'
  | 'cookie_on_unknown_host'
  | 'metrics_unauthorized';

/** Where a database error happened (`tandem_database_errors_total{kind}`). */
export type DatabaseErrorKind = 'connection' | 'constraint' | 'query' | 'idle_connection';

/** Updates per second are averaged over this many one-second buckets. */
const RATE_WINDOW_S = 10;

/**
 * Latency buckets in seconds: a commit is ~1 ms on an idle Postgres, an Ack a few ms; past a
 * second something is wrong (the database retrying, the event loop stalled).
 */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  commits = 0;
  updatesCommitted = 0;
  private joinsWaitingForStorage = 0;
  private entriesFromDoorbells = 0;
  private logReads = 0;
  private readonly limitHits = new Map<string, number>();
  private readonly loop: IntervalHistogram;
  /** Updates committed per second, for the last RATE_WINDOW_S seconds (by epoch second). */
  private readonly perSecond = new Map<number, number>();

  private readonly updatesAccepted: Counter;
  private readonly updatesRelayed: Counter;
  private readonly updatesCommittedTotal: Counter;
  private readonly commitsTotal: Counter;
  private readonly commitSeconds: Histogram;
  private readonly ackSeconds: Histogram;
  private readonly busMessages: Counter<'direction' | 'type'>;
  private readonly otherNodeEntries: Counter<'source'>;
  private readonly databaseErrors: Counter<'kind'>;
  private readonly authFailures: Counter<'reason'>;
  private readonly limitHitsTotal: Counter<'limit'>;

  constructor(private readonly source: MetricsSource) {
    this.loop = monitorEventLoopDelay({ resolution: 5 });
    this.loop.enable();
    const registers = [this.registry];
    // The event-loop lag figures (nodejs_eventloop_lag_*) cover the time since the last scrape.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 5 });
    new Gauge({
      name: 'tandem_sockets',
      help: 'Open /sync WebSockets on this node.',
      registers,
      collect() {
        this.set(source.connections());
      },
    });
    new Gauge({
      name: 'tandem_heavy_work_running',
      help: 'The job running in the heavy-work thread, by kind (job="text", "snapshot", …): 1 while it runs; no sample when the thread is idle.',
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        const running = source.heavyWork().running;
        if (running !== null) this.set({ job: running }, 1);
      },
    });
    new Gauge({
      name: 'tandem_heavy_work_queued',
      help: 'Jobs waiting for the heavy-work thread.',
      registers,
      collect() {
        this.set(source.heavyWork().queued);
      },
    });
    const metrics = this;
    new Gauge({
      name: 'tandem_joins_waiting_for_storage',
      help: 'Joins waiting for the database to come back (each waits up to 15 s, then is refused as unavailable).',
      registers,
      collect() {
        this.set(metrics.joinsWaitingForStorage);
      },
    });
    new Gauge({
      name: 'tandem_rooms_loaded',
      help: 'Documents held in memory on this node.',
      registers,
      collect() {
        this.set(source.loadedDocuments());
      },
    });
    this.updatesAccepted = new Counter({ name: 'tandem_updates_accepted_total', help: 'Updates from local sockets that passed the checks and were imported.', registers });
    this.updatesRelayed = new Counter({
      name: 'tandem_updates_relayed_total',
      help: 'Updates sent to sockets in a room, one per update and receiving socket (from local members and other nodes).',
      registers,
    });
    this.updatesCommittedTotal = new Counter({ name: 'tandem_updates_committed_total', help: 'Updates made durable (their senders acknowledged).', registers });
    this.commitsTotal = new Counter({ name: 'tandem_commits_total', help: 'Log entries written (one per group commit).', registers });
    this.commitSeconds = new Histogram({
      name: 'tandem_commit_duration_seconds',
      help: 'Time to write one log entry (the transaction, from the write to its COMMIT).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ackSeconds = new Histogram({
      name: 'tandem_ack_latency_seconds',
      help: 'Time from an update arriving to its Ok Ack (checks, import, relay, the commit and the wait for it).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.busMessages = new Counter({
      name: 'tandem_bus_messages_total',
      help: 'Messages between nodes, by direction (sent, received) and type (doorbell, edits, presence, access).',
      labelNames: ['direction', 'type'],
      registers,
    });
    this.otherNodeEntries = new Counter({
      name: 'tandem_other_node_entries_total',
      help: "Other nodes' log entries applied here, by source: doorbell (carried by the bus) or log_read (read from the database).",
      labelNames: ['source'],
      registers,
    });
    this.databaseErrors = new Counter({
      name: 'tandem_database_errors_total',
      help: 'Failed database queries, by kind (connection, constraint, query) and failed idle connections (idle_connection).',
      labelNames: ['kind'],
      registers,
    });
    this.authFailures = new Counter({ name: 'tandem_auth_failures_total', help: 'Refused credentials (sign-ins, tokens, tickets, cookies), by reason.', labelNames: ['reason'], registers });
    this.limitHitsTotal = new Counter({
      name: 'tandem_limit_hits_total',
      help: 'Requests and messages refused by an abuse or size limit, by limit (README "Limits").',
      labelNames: ['limit'],
      registers,
    });
    // Reads of the log are the costly source: present from the start so that rate() sees the first one.
    for (const source of ['doorbell', 'log_read']) this.otherNodeEntries.inc({ source }, 0);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  recordCommit(updates: number): void {
    this.commits += 1;
    this.updatesCommitted += updates;
    this.commitsTotal.inc();
    this.updatesCommittedTotal.inc(updates);
    const second = Math.floor(Date.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + updates);
    for (const key of this.perSecond.keys()) if (key <= second - RATE_WINDOW_S) this.perSecond.delete(key);
  }

  /** One log entry took `seconds` from its write to its COMMIT. */
  commitDuration(seconds: number): void {
    this.commitSeconds.observe(seconds);
  }

  /** A socket's updates passed the checks and were imported. */
  updatesAcceptedFrom(updates: number): void {
    this.updatesAccepted.inc(updates);
  }

  /** A join started (+1) or stopped (-1) waiting for storage that is away. */
  joinWaiting(change: 1 | -1): void {
    this.joinsWaitingForStorage += change;
  }

  /** An update was acknowledged Ok `seconds` after it arrived. */
  ackLatency(seconds: number): void {
    this.ackSeconds.observe(seconds);
  }

  /** `updates` went to `sockets` members of a room. */
  relayed(updates: number, sockets: number): void {
    if (updates > 0 && sockets > 0) this.updatesRelayed.inc(updates * sockets);
  }

  busMessage(direction: 'sent' | 'received', type: string): void {
    this.busMessages.inc({ direction, type });
  }

  databaseError(kind: DatabaseErrorKind): void {
    this.databaseErrors.inc({ kind });
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  /** A request or message was refused by `limit` (a name from README "Limits"). */
  limitHit(limit: string): void {
    this.limitHits.set(limit, (this.limitHits.get(limit) ?? 0) + 1);
    this.limitHitsTotal.inc({ limit });
  }

  otherNodes(source: 'doorbell' | 'log read'): void {
    if (source === 'doorbell') this.entriesFromDoorbells += 1;
    else this.logReads += 1;
    this.otherNodeEntries.inc({ source: source === 'doorbell' ? 'doorbell' : 'log_read' });
  }

  /** Updates made durable per second, over the last ten seconds. */
  updatesPerSecond(): number {
    const now = Math.floor(Date.now() / 1000);
    let total = 0;
    for (const [second, n] of this.perSecond) if (second > now - RATE_WINDOW_S) total += n;
    return Math.round((total / RATE_WINDOW_S) * 10) / 10;
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
      limitHits: Object.fromEntries(this.limitHits),
      joinsWaitingForStorage: this.joinsWaitingForStorage,
      heavyWork: this.source.heavyWork(),
      eventLoop: { maxMs: ms(this.loop.max), p99Ms: ms(this.loop.percentile(99)), meanMs: ms(this.loop.mean) },
      memory: process.memoryUsage(),
    };
  }

  close(): void {
    this.loop.disable();
    this.registry.clear();
  }
}

/**
 * `npm run bench -- --compare`: the same workloads against Tandem and the servers people would
 * pick instead, each server in its own processes on a fresh Postgres database, clients in
 * worker processes (client-worker.ts) speaking each server's own protocol: typing at several
 * loads, a trace replay, cold start, a join storm and memory per idle document (bench-results/README.md
 * "Against the alternatives"). `--loads` and `--parts` run one workload, for profiling.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { LOAD_GENERATOR_LIMITS, spawnServer, type ServerProcess } from '../../helpers/server-process';
import { createDocument, signUp } from '../../helpers/test-server';
import { loadSequentialTrace, patchesOf } from '../../helpers/traces';
import { percentile, round } from '../stats';
import type { ClientSpec, WorkerReply, WorkerRequest } from './client-worker';
import { rawDurableRun, type RawDurableResult } from './raw-durable';
import { DURABLE_ACKS, buildDocument, connectClient, familyOf, fingerprint, type ServerKind } from './clients';

const ROOT = join(import.meta.dirname, '../../..');

/** Every process the comparison started, killed if the benchmark itself is stopped. */
const spawned = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** How long a server gets to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 15_000;

/**
 * Stops a server process: SIGTERM, then SIGKILL if it is still there after the grace period
 * (Hocuspocus's Redis extension once kept retrying "Could not acquire lock" after SIGTERM, and
 * the whole comparison waited on it).
 */
async function stopProcess(child: ChildProcess, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
  if ((await Promise.race([exited, late])) === 'late') {
    process.stderr.write(`${what} (pid ${child.pid}) still running ${STOP_GRACE_MS / 1000} s after SIGTERM: killed\n`);
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

interface RunningPeer {
  name: string;
  kind: ServerKind;
  /** Where the `index`-th client of a run connects (several nodes: spread over them). */
  wsUrl: (docId: string, index?: number) => string;
  /** Creates a document and returns the id clients join (Tandem needs one made through its API). */
  newDocument(): Promise<string>;
  token: string | null;
  /** CPU seconds and peak RSS of the server processes so far (restarts included). */
  stats(): { cpuSeconds: number; peakRssMiB: number };
  /** Current RSS of the server processes, MiB. */
  rssMiB(): number;
  storedBytes(docId: string): Promise<number>;
  /** Stops the server processes and starts them again on the same database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface LoadResult {
  connections: number;
  docs: number;
  latency: { p50: number; p99: number; p999: number; n: number };
  sentPerSecond: number;
  /** CPU seconds of the server processes, and of the client processes, during this load. */
  serverCpuSeconds: number;
  clientCpuSeconds: number;
  /**
   * CPU seconds of the Postgres cluster (every backend) during this load; null for embedded
   * Postgres, which runs inside the server; absent when not measured (a Postgres on another machine).
   */
  databaseCpuSeconds?: number | null;
  converged: boolean;
}

export interface PeerResult {
  server: string;
  durableAcks: string;
  /** When this server was measured (a re-run of some servers keeps the others' rows). */
  measuredAt?: string;
  loads: LoadResult[];
  replay: { updates: number; seconds: number; updatesPerSecond: number; converged: boolean; storedBytes: number } | null;
  /** automerge-paper from a bare loro-protocol client, unmerged, 64 updates awaiting Acks (raw-durable.ts); null: no Acks in the protocol. */
  rawDurable?: RawDurableResult | null;
  large: LargeDocResult | null;
  /** Server RSS growth per idle document, KiB. */
  idleKiBPerDoc: number | null;
  cpuSeconds: number;
  peakRssMiB: number;
  error?: string;
}

function currentRssMiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Adds up processes that come and go (restarts, several nodes). */
class ProcessMeter {
  private cpuDone = 0;
  private peakDone = 0;
  live: number[] = [];

  /** Call before the live processes exit. */
  retire(): void {
    const s = this.read();
    this.cpuDone = s.cpuSeconds;
    this.peakDone = s.peakRssMiB;
    this.live = [];
  }

  read(): { cpuSeconds: number; peakRssMiB: number } {
    const live = this.live.map(procStats);
    return {
      cpuSeconds: round(this.cpuDone + live.reduce((n, p) => n + p.cpuSeconds, 0), 2),
      peakRssMiB: round(
        Math.max(
          this.peakDone,
          live.reduce((n, p) => n + p.peakRssMiB, 0),
        ),
      ),
    };
  }

  rss(): number {
    return this.live.reduce((n, pid) => n + currentRssMiB(pid), 0);
  }
}

/** The fields of /proc/<pid>/stat after the command name (so `[1]` is the parent's pid). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime, with `children`: also of its exited children (Postgres backends that ended). */
function cpuTicks(pid: number, children = false): number {
  const fields = statFields(pid);
  return Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
}

/**
 * CPU seconds of a local Postgres cluster so far: its postmaster (with the backends that ended)
 * and every live process under it. Found from a backend's parent; null when the server is not
 * on this machine's /proc.
 */
async function postgresCpu(adminUrl: string): Promise<(() => number) | null> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let postmaster: number;
  try {
    const backend = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
    postmaster = Number(statFields(backend)[1]); // read while the backend lives
  } catch {
    return null;
  } finally {
    await client.end();
  }
  return () => {
    let ticks = cpuTicks(postmaster, true);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (Number(statFields(entry)[1]) === postmaster) ticks += cpuTicks(Number(entry));
      } catch {
        // gone meanwhile: its time is in the postmaster's children figure
      }
    }
    return ticks / 100;
  };
}

function procStats(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  try {
    const ticks = cpuTicks(pid);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: round(ticks / 100, 2), peakRssMiB: round(Number(hwm?.[1] ?? 0) / 1024) };
  } catch {
    return { cpuSeconds: Number.NaN, peakRssMiB: Number.NaN };
  }
}

async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_cmp_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function spawnPeer(kind: string, databaseUrl: string, redisUrl: string | null): Promise<{ child: ChildProcess; port: number }> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'test/bench/compare/peer-server.ts', kind, databaseUrl, ...(redisUrl ? [redisUrl] : [])], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { listening?: number };
        if (parsed.listening) resolve(parsed.listening);
      } catch {
        // not ours
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited (${code}) before listening`)));
  });
  return { child, port };
}

/** Nodes for the multi-node variants. */
const NODES = 3;

async function startPeer(name: string, adminUrl: string, redisUrl: string | null): Promise<RunningPeer> {
  const db = await freshDatabase(adminUrl);
  const query = async (sql: string, params: unknown[]): Promise<number> => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return Number((await c.query(sql, params)).rows[0]?.n ?? 0);
    } finally {
      await c.end();
    }
  };
  const meter = new ProcessMeter();
  const nodes = name.endsWith('-3-nodes') ? NODES : 1;
  if (nodes > 1 && !redisUrl) throw new Error(`${name} needs TANDEM_BENCH_REDIS_URL (the nodes talk over Redis)`);
  if (name.startsWith('tandem')) {
    const dataDir = name === 'tandem-embedded' ? await mkdtemp(join(tmpdir(), 'tandem-cmp-')) : null;
    const env: Record<string, string> = dataDir
      ? { ...LOAD_GENERATOR_LIMITS, TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10' }
      : { ...LOAD_GENERATOR_LIMITS, DATABASE_URL: db.url, TANDEM_PASSWORD_COST: '10', ...(nodes > 1 ? { TANDEM_BUS: 'redis', TANDEM_REDIS_URL: redisUrl! } : {}) };
    let servers: ServerProcess[] = [];
    const start = async (): Promise<void> => {
      const profile = process.env.TANDEM_BENCH_SERVER_PROFILE;
      servers = await Promise.all(Array.from({ length: nodes }, () => spawnServer(env, profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [], { built: true })));
      for (const s of servers) track(s.child);
      meter.live = servers.map((s) => s.child.pid!);
    };
    const stopAll = async (): Promise<void> => {
      meter.retire();
      await Promise.all(servers.map((s) => stopProcess(s.child, name)));
    };
    await start();
    const { token } = await signUp(servers[0]!.httpUrl);
    return {
      name,
      kind: 'tandem',
      wsUrl: (_docId, index = 0) => servers[index % servers.length]!.wsUrl,
      newDocument: () => createDocument({ httpUrl: servers[0]!.httpUrl, token }),
      token,
      stats: () => meter.read(),
      rssMiB: () => meter.rss(),
      storedBytes: async (docId) =>
        dataDir
          ? Number.NaN // embedded: inside the data folder, not queried from here
          : query(
              `select coalesce((select sum(octet_length(updates)) from doc_updates where doc_id = $1), 0) + coalesce((select sum(octet_length(bytes)) from doc_snapshots where doc_id = $1), 0) as n`,
              [docId],
            ),
      restart: async () => {
        await stopAll();
        await start();
      },
      stop: async () => {
        await stopAll();
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
        await db.drop();
      },
    };
  }
  const kind = name.replace(/-3-nodes$/, '') as Exclude<ServerKind, 'tandem'>;
  let children: { child: ChildProcess; port: number }[] = [];
  const start = async (): Promise<void> => {
    children = await Promise.all(Array.from({ length: nodes }, () => spawnPeer(kind, db.url, nodes > 1 ? redisUrl : null)));
    meter.live = children.map((c) => c.child.pid!);
  };
  const stopAll = async (): Promise<void> => {
    meter.retire();
    await Promise.all(children.map(({ child }) => stopProcess(child, name)));
  };
  await start();
  let counter = 0;
  const stored: Record<typeof kind, string> = {
    hocuspocus: 'select coalesce(sum(octet_length(data)), 0) as n from bench_hocuspocus where name = $1',
    'y-websocket': 'select coalesce(sum(octet_length(update)), 0) as n from bench_yws where name = $1',
    loro: "select coalesce(sum(octet_length(data)), 0) as n from bench_loro where room like '%' || $1",
  };
  return {
    name,
    kind,
    wsUrl: (_docId, index = 0) => `ws://127.0.0.1:${children[index % children.length]!.port}`,
    newDocument: async () => `doc${++counter}-${Math.random().toString(36).slice(2, 8)}`,
    token: null,
    stats: () => meter.read(),
    rssMiB: () => meter.rss(),
    storedBytes: (docId) => query(stored[kind], [docId]),
    restart: async () => {
      await stopAll();
      await start();
    },
    stop: async () => {
      await stopAll();
      await db.drop();
    },
  };
}

/** Runs one stage of a server's run, failing it (not the whole benchmark) after `ms`. */
async function stage<T>(what: string, ms: number, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([run(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return false;
}

/**
 * A document's stored bytes once they stop changing: servers that store on a timer get time to
 * save, and y-websocket's persistence (an insert per update, queued on a pool) time to drain.
 */
async function storedOnceSettled(peer: RunningPeer, docId: string, timeoutMs: number): Promise<number> {
  let last = -1;
  await waitUntil(
    async () => {
      const now = await peer.storedBytes(docId);
      const stable = now > 0 && now === last;
      last = now;
      return stable;
    },
    timeoutMs,
    500,
  );
  return Math.max(last, 0);
}

/** Client processes (one per core), each holding a share of the benchmark's clients. */
class ClientPool {
  private readonly workers: { child: ChildProcess; replies: WorkerReply[]; waiting: ((r: WorkerReply) => void) | null }[] = [];
  private specs = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const child = track(
        fork(join(import.meta.dirname, 'client-worker.ts'), [], {
          execArgv: ['--import', 'tsx', ...(process.env.TANDEM_BENCH_CLIENT_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TANDEM_BENCH_CLIENT_PROFILE}`] : [])],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
      const worker = { child, replies: [] as WorkerReply[], waiting: null as ((r: WorkerReply) => void) | null };
      child.on('message', (reply: WorkerReply) => {
        if (worker.waiting) {
          const w = worker.waiting;
          worker.waiting = null;
          w(reply);
        } else worker.replies.push(reply);
      });
      this.workers.push(worker);
    }
  }

  private ask<T extends WorkerReply['type']>(index: number, request: WorkerRequest, expect: T): Promise<Extract<WorkerReply, { type: T }>> {
    const worker = this.workers[index]!;
    worker.child.send(request);
    return new Promise((resolve, reject) => {
      const take = (reply: WorkerReply): void => {
        if (reply.type === 'error') reject(new Error(`client process: ${reply.message}`));
        else if (reply.type !== expect) reject(new Error(`client process answered ${reply.type}, expected ${expect}`));
        else resolve(reply as Extract<WorkerReply, { type: T }>);
      };
      const queued = worker.replies.shift();
      if (queued) take(queued);
      else worker.waiting = take;
    });
  }

  /** Connects clients, dealt round-robin over the processes; returns each one's time to synced. */
  async connect(peer: RunningPeer, docIds: readonly string[]): Promise<number[]> {
    const byWorker: ClientSpec[][] = this.workers.map(() => []);
    docIds.forEach((docId, i) => {
      byWorker[i % this.workers.length]!.push({ id: `c${this.specs++}`, kind: peer.kind, url: peer.wsUrl(docId, i), docId, token: peer.token });
    });
    const replies = await Promise.all(byWorker.map((clients, w) => this.ask(w, { type: 'connect', clients }, 'connected')));
    return replies.flatMap((r) => r.ms);
  }

  async type(durationMs: number, intervalMs: number, sizes: string[]): Promise<{ latencies: number[]; sent: number; settled: boolean; cpuSeconds: number }> {
    const replies = await Promise.all(this.workers.map((_, w) => this.ask(w, { type: 'type', durationMs, intervalMs, sizes }, 'typed')));
    return {
      latencies: replies.flatMap((r) => r.latencies),
      sent: replies.reduce((n, r) => n + r.sent, 0),
      settled: replies.every((r) => r.settled),
      cpuSeconds: replies.reduce((n, r) => n + r.cpuSeconds, 0),
    };
  }

  async texts(): Promise<Record<string, string>> {
    const replies = await Promise.all(this.workers.map((_, w) => this.ask(w, { type: 'texts' }, 'texts')));
    return Object.assign({}, ...replies.map((r) => r.texts)) as Record<string, string>;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.send({ type: 'close' } satisfies WorkerRequest);
          }),
      ),
    );
  }
}

const CLIENT_PROCESSES = Math.max(2, availableParallelism());

/** Insert sizes drawn from automerge-paper's patches (most are one character). */
function traceSizes(): string[] {
  const trace = loadSequentialTrace('automerge-paper');
  return [...patchesOf(trace)]
    .slice(0, 5_000)
    .map(([, , ins]) => ins)
    .filter((s) => s.length > 0);
}

/** N documents × M clients, each typing 5 updates/s (each update timed at every other client of its document). */
async function typing(peer: RunningPeer, docs: number, perDoc: number, durationMs: number, databaseCpu: (() => number) | 'in server' | null): Promise<LoadResult> {
  const pool = new ClientPool(CLIENT_PROCESSES);
  try {
    const docIds: string[] = [];
    for (let d = 0; d < docs; d++) docIds.push(await peer.newDocument());
    // Clients of one document sit in different processes: c = d + docs·k.
    const placement = Array.from({ length: docs * perDoc }, (_, i) => docIds[i % docs]!);
    await pool.connect(peer, placement);
    const started = performance.now();
    const serverCpuBefore = peer.stats().cpuSeconds;
    const databaseCpuBefore = typeof databaseCpu === 'function' ? databaseCpu() : 0;
    const typed = await pool.type(durationMs, 200, sizes());
    const serverCpuSeconds = peer.stats().cpuSeconds - serverCpuBefore;
    const databaseCpuSeconds = typeof databaseCpu === 'function' ? round(databaseCpu() - databaseCpuBefore, 2) : databaseCpu === 'in server' ? null : undefined;
    const seconds = (performance.now() - started) / 1000;
    const converged = await waitUntil(async () => {
      const texts = await pool.texts();
      const byDoc = new Map<string, string>();
      return placement.every((docId, i) => {
        const text = texts[`c${i}`];
        if (!byDoc.has(docId)) byDoc.set(docId, text!);
        return text === byDoc.get(docId);
      });
    }, 30_000);
    const latencies = typed.latencies;
    return {
      connections: docs * perDoc,
      docs,
      latency: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2), p999: round(percentile(latencies, 99.9), 2), n: latencies.length },
      sentPerSecond: round(typed.sent / seconds),
      serverCpuSeconds: round(serverCpuSeconds, 2),
      clientCpuSeconds: round(typed.cpuSeconds, 2),
      ...(databaseCpuSeconds === undefined ? {} : { databaseCpuSeconds }),
      converged: converged && typed.settled,
    };
  } finally {
    await pool.close();
  }
}

let sizesCache: string[] | null = null;
const sizes = (): string[] => (sizesCache ??= traceSizes());

/** automerge-paper through one client, one update per patch, as fast as it goes; a second client must reach endContent. */
async function replay(peer: RunningPeer): Promise<PeerResult['replay']> {
  const trace = loadSequentialTrace('automerge-paper');
  const docId = await peer.newDocument();
  const writer = await connectClient(peer.kind, peer.wsUrl(docId), docId, peer.token);
  const reader = await connectClient(peer.kind, peer.wsUrl(docId), docId, peer.token);
  await Promise.all([writer.ready(), reader.ready()]);
  const patches = [...patchesOf(trace)];
  const start = performance.now();
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i]!;
    writer.splice(pos, del, ins); // one update per patch
    if (i % 1_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.settled();
  const converged = await waitUntil(() => reader.text() === trace.endContent, 120_000);
  const seconds = (performance.now() - start) / 1000;
  const storedBytes = await storedOnceSettled(peer, docId, 120_000);
  writer.close();
  reader.close();
  return { updates: patches.length, seconds: round(seconds, 2), updatesPerSecond: round(patches.length / seconds), converged, storedBytes };
}

/** Join storm and cold start on automerge-paper (`copies` replays of it, one large document). */
export interface LargeDocResult {
  copies: number;
  textLength: number;
  /** One client, on a server just restarted with the document only in storage: connect → synced. */
  coldStartMs: number;
  /** `clients` joining at once (the document loaded): time until the last one is synced. */
  storm: { clients: number; allSyncedMs: number; p50Ms: number; converged: boolean };
}

const largeDocs = new Map<string, { bytes: Uint8Array; length: number }>();
function largeDocument(kind: ServerKind, copies: number): { bytes: Uint8Array; length: number } {
  const key = `${familyOf(kind)}x${copies}`;
  let built = largeDocs.get(key);
  if (!built) {
    built = buildDocument(familyOf(kind), [...patchesOf(loadSequentialTrace('automerge-paper'))], copies);
    largeDocs.set(key, built);
  }
  return built;
}

async function largeDocument_(peer: RunningPeer, copies: number, stormClients: number): Promise<LargeDocResult> {
  const { bytes, length } = largeDocument(peer.kind, copies);
  const docId = await peer.newDocument();
  // Seeded through the protocol: a client that holds the document joins and uploads it.
  const seeder = await connectClient(peer.kind, peer.wsUrl(docId), docId, peer.token, bytes);
  await seeder.ready();
  await seeder.settled();
  await storedOnceSettled(peer, docId, 120_000);
  seeder.close();
  await peer.restart();
  const coldStarted = performance.now();
  const first = await connectClient(peer.kind, peer.wsUrl(docId), docId, peer.token);
  // Listening to changes before the content arrives, as every editor does (and as the storm's
  // clients do): what a CRDT costs to load can depend on it (a Loro snapshot: ~1 s with a
  // subscriber; see import-cost.ts).
  first.onRemoteInsert(() => {});
  await first.ready();
  const synced = await waitUntil(() => first.text().length === length, 120_000);
  const coldStartMs = synced ? performance.now() - coldStarted : Number.NaN;
  // The first client stays: the storm joins a loaded document.
  const pool = new ClientPool(CLIENT_PROCESSES);
  try {
    const stormStarted = performance.now();
    const ms = await pool.connect(
      peer,
      Array.from({ length: stormClients }, () => docId),
    );
    const allSyncedMs = performance.now() - stormStarted;
    const expected = fingerprint(first.text());
    const texts = Object.values(await pool.texts());
    return {
      copies,
      textLength: length,
      coldStartMs: round(coldStartMs),
      storm: { clients: stormClients, allSyncedMs: round(allSyncedMs), p50Ms: round(percentile(ms, 50)), converged: synced && texts.every((t) => t === expected) },
    };
  } finally {
    first.close();
    await pool.close();
  }
}

/** Server memory per idle document: `docs` documents, one client each, 2 KB typed, then quiet. */
async function idleMemory(peer: RunningPeer, docs: number): Promise<number> {
  await peer.restart();
  const before = peer.rssMiB();
  const docIds: string[] = [];
  for (let d = 0; d < docs; d++) docIds.push(await peer.newDocument());
  const pool = new ClientPool(CLIENT_PROCESSES);
  try {
    await pool.connect(peer, docIds);
    // 10 updates of ~200 characters each per document, then nothing.
    await pool.type(2_000, 200, [sizes().join('').slice(0, 200)]);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the benchmark's quiet period, not a test wait
    return round(((peer.rssMiB() - before) * 1024) / docs, 1);
  } finally {
    await pool.close();
  }
}

export const PARTS = ['typing', 'replay', 'durable', 'large', 'idle'] as const;
export type Part = (typeof PARTS)[number];

export const SERVERS = ['tandem-embedded', 'tandem-postgres', 'tandem-3-nodes', 'hocuspocus', 'hocuspocus-3-nodes', 'y-websocket', 'loro'] as const;

export async function runCompare(options: {
  quick: boolean;
  postgresUrl: string;
  redisUrl: string | null;
  servers?: readonly string[];
  /** Typing loads as [documents, clients per document]; default by `quick`. */
  loads?: readonly (readonly [number, number])[];
  /** Which workloads to run (default all): for profiling one of them. */
  parts?: ReadonlySet<Part>;
  log: (m: string) => void;
}): Promise<PeerResult[]> {
  const loads =
    options.loads ??
    (options.quick
      ? [
          [5, 2],
          [25, 4],
        ]
      : [
          [5, 2],
          [25, 4],
          [50, 10],
          [100, 10],
        ]);
  const runs = (part: Part): boolean => !options.parts || options.parts.has(part);
  const durationMs = options.quick ? 5_000 : 15_000;
  const stormClients = options.quick ? 50 : 200;
  const results: PeerResult[] = [];
  const databaseCpu = await postgresCpu(options.postgresUrl);
  for (const name of options.servers ?? SERVERS.filter((s) => options.redisUrl || !s.endsWith('-3-nodes'))) {
    options.log(name);
    let peer: RunningPeer | null = null;
    const result: PeerResult = { server: name, durableAcks: '', loads: [], replay: null, large: null, idleKiBPerDoc: null, cpuSeconds: Number.NaN, peakRssMiB: Number.NaN };
    try {
      peer = await startPeer(name, options.postgresUrl, options.redisUrl);
      result.durableAcks = DURABLE_ACKS[peer.kind];
      for (const [docs, perDoc] of runs('typing') ? loads : []) {
        options.log(`${name}: typing, ${docs! * perDoc!} connections`);
        const load = await stage(`typing at ${docs! * perDoc!} connections`, durationMs + 180_000, () =>
          typing(peer!, docs!, perDoc!, durationMs, name === 'tandem-embedded' ? 'in server' : databaseCpu),
        );
        options.log(`${name}: typed ${load.sentPerSecond} updates/s, ${load.latency.n} deliveries timed`);
        result.loads.push(load);
      }
      if (runs('replay')) {
        options.log(`${name}: trace replay`);
        result.replay = await stage('the trace replay', 300_000, () => replay(peer!));
      }
      if (runs('durable') && (peer.kind === 'tandem' || peer.kind === 'loro')) {
        options.log(`${name}: durable updates/s, unmerged, 64 in flight`);
        const docId = await peer.newDocument();
        const database = name === 'tandem-embedded' ? 'in server' : databaseCpu;
        result.rawDurable = await stage('the unmerged durable replay', 300_000, () =>
          rawDurableRun({
            url: peer!.wsUrl(docId),
            docId,
            token: peer!.token,
            // loro's SimpleServer took over the stage's 300 s for the whole trace: it gets the first 20k.
            ...(options.quick ? { count: 60_000 } : peer!.kind === 'loro' ? { count: 20_000 } : {}),
            cpu: () => ({ server: peer!.stats().cpuSeconds, database: typeof database === 'function' ? database() : database === 'in server' ? null : undefined }),
          }),
        );
        options.log(`${name}: ${result.rawDurable.updatesPerSecond} updates/s acknowledged`);
      } else if (runs('durable')) result.rawDurable = null;
      if (runs('large')) {
        options.log(`${name}: cold start and join storm (${stormClients} clients)`);
        result.large = await stage('cold start and join storm', 300_000, () => largeDocument_(peer!, 1, stormClients));
      }
      if (runs('idle')) {
        options.log(`${name}: memory per idle document`);
        result.idleKiBPerDoc = await stage('memory per idle document', 120_000, () => idleMemory(peer!, options.quick ? 50 : 200));
      }
      Object.assign(result, peer.stats());
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
      options.log(`${name}: failed: ${result.error}`);
      if (peer) Object.assign(result, peer.stats());
    } finally {
      await peer?.stop().catch(() => {});
    }
    results.push(result);
  }
  return results;
}

/** bench-results/compare.md: the tables, with when, where and how they were measured. */
export function compareMarkdown(results: (PeerResult & { measuredAt?: string })[], caption: string): string {
  const when = [...new Set(results.map((r) => r.measuredAt).filter(Boolean))].join(', ');
  return `# Tandem against the alternatives\n\n${caption}\n\nRows measured at: ${when}. Latency in ms (edit to every other client of the document); CPU s and peak RSS of the server processes over the whole run. See bench-results/README.md "Against the alternatives".\n\n${compareTable(results)}\n`;
}

export function compareTable(results: PeerResult[]): string {
  const loads = [...new Set(results.flatMap((r) => r.loads.map((l) => l.connections)))].sort((a, b) => a - b);
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const columns = [
    'server',
    'durable acks',
    ...loads.map((c) => `p50 / p99 / p999 at ${c} conns`),
    'replay updates/s',
    'unmerged, 64 in flight: acked/s (CPU s server / Postgres)',
    'stored bytes',
    'cold start',
    'join storm (all synced)',
    'idle KiB/doc',
    'CPU s',
    'peak RSS',
  ];
  const header = row(columns);
  const sep = row(columns.map(() => '---'));
  const rows = results.map((r) => {
    const cells = loads.map((c) => {
      const l = r.loads.find((x) => x.connections === c);
      if (!l) return r.error ? 'failed' : '';
      return `${l.latency.p50} / ${l.latency.p99} / ${l.latency.p999} ms${l.converged ? '' : ' (DIVERGED)'}`;
    });
    const replayCell = r.replay ? `${r.replay.updatesPerSecond}${r.replay.converged ? '' : ' (DIVERGED)'}` : '';
    const d = r.rawDurable;
    const durableCell = d ? `${d.updatesPerSecond} (${d.serverCpuSeconds} / ${d.databaseCpuSeconds === undefined ? '?' : (d.databaseCpuSeconds ?? 'in server')})` : d === null ? 'no Acks' : '';
    const cold = r.large ? `${r.large.coldStartMs} ms` : '';
    const storm = r.large ? `${r.large.storm.allSyncedMs} ms (${r.large.storm.clients})${r.large.storm.converged ? '' : ' (DIVERGED)'}` : '';
    const error = r.error ? ` (failed: ${r.error})` : '';
    return row([
      `${r.server}${error}`,
      r.durableAcks,
      ...cells,
      replayCell,
      durableCell,
      String(r.replay?.storedBytes ?? ''),
      cold,
      storm,
      String(r.idleKiBPerDoc ?? ''),
      String(r.cpuSeconds),
      `${r.peakRssMiB} MiB`,
    ]);
  });
  // Where the CPU went while typing: on 2 shared cores the clients' cost is every server's load too.
  if (loads.length === 0) return [header, sep, ...rows].join('\n');
  const cpuHeader = row(['server', ...loads.map((c) => `CPU s at ${c} conns: server / Postgres / clients`)]);
  const cpuSep = row(['---', ...loads.map(() => '---')]);
  const cpuRows = results.map((r) => {
    const cells = loads.map((c) => {
      const l = r.loads.find((x) => x.connections === c);
      if (l?.clientCpuSeconds === undefined) return '';
      // Embedded Postgres runs inside the server process; '?': not measured (older rows, a remote Postgres).
      const database = l.databaseCpuSeconds === undefined ? '?' : (l.databaseCpuSeconds ?? 'in server');
      return `${l.serverCpuSeconds} / ${database} / ${l.clientCpuSeconds}`;
    });
    return row([r.server, ...cells]);
  });
  return [header, sep, ...rows, '', cpuHeader, cpuSep, ...cpuRows].join('\n');
}

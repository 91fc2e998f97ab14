/**
 * `npm run bench`: the sync server's speed and memory figures, on embedded Postgres and (when
 * `TANDEM_BENCH_DATABASE_URL` or `TANDEM_TEST_DATABASE_URL` is set) on real Postgres. Prints a
 * table and writes `bench-results/sync-core.json`.
 *
 * The server runs in its own process (as in production, started by `server/main.ts`); clients
 * are raw protocol peers in this process. Targets (issue "sync server core", 2-core machine):
 * ack p99 < 10 ms at 20 updates/s; cold load of automerge-paper < 100 ms; no event-loop stall
 * over 50 ms while another room loads a large document.
 *
 * Flags: `--backend embedded|postgres|all` (default all available), `--quick` (shorter runs).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoroDoc } from 'loro-crdt';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../db/open-database';
import { appendLogEntry, replaceSnapshot } from '../../db/repositories/doc-log';
import { insertDocument } from '../../db/repositories/documents';
import { insertUser } from '../../db/repositories/users';
import { LocalAccessEventBus } from '../../server/auth/access-events';
import { AccessTokenService } from '../../server/auth/access-tokens';
import { SessionService } from '../../server/auth/sessions';
import { checkUpdate } from '../../server/sync/update-check';
import { configureText } from '../../shared/document';
import { newDocumentId } from '../../shared/ids';
import { MessageType, UpdateStatus, type BatchId } from '../../shared/protocol/index';
import { RawPeer } from '../helpers/raw-peer';
import { Exposition } from '../helpers/prometheus';
import { LOAD_GENERATOR_LIMITS, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEXT, applyPatch, loadSequentialTrace, patchesOf, type Patch } from '../helpers/traces';
import { clusterTable, runClusterBench } from './cluster';
import { compareChart } from './compare/chart';
import { PARTS, compareMarkdown, compareTable, runCompare, type Part } from './compare/compare';
import { extensionTable, runExtensionBench } from './extension';
import { historyTable, runHistoryBench, seedHistory, type HistoryResult } from './history';
import { importEachCost, importEachTable } from './import-each';
import { percentile, round, summary } from './stats';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const backendArg = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : undefined;
const postgresUrl = process.env.TANDEM_BENCH_DATABASE_URL ?? process.env.TANDEM_TEST_DATABASE_URL;
const backends = (['embedded', 'postgres'] as const).filter((b) => (backendArg === undefined || backendArg === 'all' || backendArg === b) && (b === 'embedded' || postgresUrl));

// ---------------------------------------------------------------------------------------
// Databases and servers

interface BenchDatabase {
  env: Record<string, string>;
  open(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

async function createDatabase(kind: 'embedded' | 'postgres'): Promise<BenchDatabase> {
  if (kind === 'embedded') {
    const dataDir = await mkdtemp(join(tmpdir(), 'tandem-bench-'));
    await (await openDatabase({ kind: 'embedded', dataDir })).close();
    return {
      env: { TANDEM_DATA_DIR: dataDir },
      open: () => openDatabase({ kind: 'embedded', dataDir }),
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `tandem_bench_${Date.now().toString(36)}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: postgresUrl });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  await admin(`create database ${name}`);
  const url = new URL(postgresUrl!);
  url.pathname = `/${name}`;
  await (await openDatabase({ kind: 'postgres', url: url.toString() })).close();
  return {
    env: { DATABASE_URL: url.toString() },
    open: () => openDatabase({ kind: 'postgres', url: url.toString() }),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

async function startServer(db: BenchDatabase): Promise<ServerProcess> {
  // Debug logs carry the server's own load times (`room.loaded`). The built server, as
  // production runs it (tsx alone added ~200 MB of RSS to the embedded server).
  return spawnServer({ ...db.env, ...LOAD_GENERATOR_LIMITS, TANDEM_METRICS_ADDR: '127.0.0.1:0', TANDEM_LOG_LEVEL: 'debug' }, ['--expose-gc'], { built: true });
}

/** The server process's resident memory now and at its highest (Linux /proc), in MiB. */
async function rssMiB(server: ServerProcess): Promise<{ now: number; peak: number }> {
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: round(kib('VmRSS') / 1024), peak: round(kib('VmHWM') / 1024) };
}

/** RSS of a server that has started and done nothing for a while (collected, then read). */
async function idleRss(server: ServerProcess): Promise<number> {
  await after(IDLE_SETTLE_MS);
  await metrics(server, true);
  return (await rssMiB(server)).now;
}

/** How long a fresh server is left alone before its idle memory is read (V8 shrinks its heaps when idle). */
const IDLE_SETTLE_MS = 10_000;

/** The server's own time to load a document (snapshot + log), from its `room.loaded` log line. */
function serverLoadMs(server: ServerProcess, docId: string): number {
  for (const line of server.log) {
    if (!line.includes('"room.loaded"') || !line.includes(docId)) continue;
    return (JSON.parse(line) as { ms: number }).ms;
  }
  throw new Error(`no room.loaded line for ${docId}`);
}

async function stopServer(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

interface Metrics {
  /** Event-loop delay since the previous scrape (prom-client resets it at each). */
  eventLoop: { maxMs: number; p99Ms: number };
  memory: { rss: number };
}

/** The figures the benchmarks use, from the server's Prometheus text on TANDEM_METRICS_ADDR. */
async function metrics(server: ServerProcess, gc = false): Promise<Metrics> {
  if (!server.metricsUrl) throw new Error('the server was started without TANDEM_METRICS_ADDR');
  const exposition = new Exposition(await (await fetch(`${server.metricsUrl}${gc ? '?gc=1' : ''}`)).text());
  return {
    eventLoop: { maxMs: exposition.value('nodejs_eventloop_lag_max_seconds') * 1000, p99Ms: exposition.value('nodejs_eventloop_lag_p99_seconds') * 1000 },
    memory: { rss: exposition.value('process_resident_memory_bytes') },
  };
}

/** Starts a new period of the event-loop figures: a scrape ends the previous one. */
async function resetEventLoop(server: ServerProcess): Promise<void> {
  await metrics(server);
}

/** The account every benchmark client acts as (created while seeding, owner of every document). */
let benchUser: { id: string; token: string };

async function createBenchUser(db: DatabaseHandle): Promise<{ id: string; token: string }> {
  const user = await insertUser(db.db, { id: newDocumentId(), email: `bench-owner-${Date.now()}@example.test`, displayName: 'bench', passwordHash: 'x' });
  const { token } = await new AccessTokenService(db.db, new LocalAccessEventBus()).create(user.id, 'bench', ['read', 'write']);
  return { id: user.id, token };
}

async function createDoc(server: ServerProcess): Promise<string> {
  const res = await fetch(`${server.httpUrl}/api/documents`, { method: 'POST', headers: { authorization: `Bearer ${benchUser.token}` } });
  if (res.status !== 201) throw new Error(`create document: ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

/** A writer of small, valid updates: one character typed per update. */
class Typist {
  private readonly doc = new LoroDoc();
  next(): Uint8Array {
    const before = this.doc.oplogVersion();
    const text = this.doc.getText(TEXT);
    text.insert(text.length, String.fromCharCode(97 + (text.length % 26)));
    this.doc.commit();
    return this.doc.export({ mode: 'update', from: before });
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// Scenarios

/** One client typing at 20 updates/s: time from sending an update to its Ack. */
async function typingLatency(server: ServerProcess, seconds: number): Promise<ReturnType<typeof summary>> {
  const docId = await createDoc(server);
  const peer = await RawPeer.connect(server.wsUrl, benchUser.token);
  await peer.joinAndWait(docId);
  const typist = new Typist();
  const latencies: number[] = [];
  const sentAt = new Map<BatchId, number>();
  const pending: Promise<void>[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const id = peer.update(docId, [typist.next()]);
    sentAt.set(id, performance.now());
    pending.push(
      peer.ackFor(id).then((ack) => {
        if (ack.status !== UpdateStatus.Ok) throw new Error(`ack status ${ack.status}`);
        latencies.push(performance.now() - sentAt.get(id)!);
      }),
    );
    await after(50);
  }
  await Promise.all(pending);
  peer.close();
  return summary(latencies);
}

/** 50 clients across 10 documents, each keeping 8 updates in flight: updates/s stored. */
async function throughput(server: ServerProcess, seconds: number): Promise<{ updatesPerSecond: number; ackP50: number; ackP99: number }> {
  const docs = await Promise.all(Array.from({ length: 10 }, () => createDoc(server)));
  const peers = await Promise.all(Array.from({ length: 50 }, () => RawPeer.connect(server.wsUrl, benchUser.token)));
  await Promise.all(peers.map((p, i) => p.joinAndWait(docs[i % 10]!)));
  const latencies: number[] = [];
  let acked = 0;
  let running = true;
  const WINDOW = 8;
  const deadline = after(seconds * 1000 + 1_000); // a backstop; the loops stop on the clock
  // Updates are made before the clock starts: the clients' own CRDT work must not be measured.
  const supplies = peers.map(() => {
    const typist = new Typist();
    return Array.from({ length: Math.ceil(seconds * 400) }, () => typist.next());
  });
  const started = performance.now();
  await Promise.all(
    peers.map(async (peer, i) => {
      const supply = supplies[i]!;
      let used = 0;
      const docId = docs[i % 10]!;
      const inFlight = new Set<Promise<void>>();
      while (running) {
        while (inFlight.size < WINDOW && running) {
          const update = supply[used++];
          if (!update) throw new Error('the benchmark ran out of pre-made updates; raise the supply');
          const sent = performance.now();
          const id = peer.update(docId, [update]);
          const p: Promise<void> = peer.ackFor(id, 60_000).then((ack) => {
            if (ack.status !== UpdateStatus.Ok) throw new Error(`ack status ${ack.status}`);
            if (running) {
              acked++;
              latencies.push(performance.now() - sent);
            }
            inFlight.delete(p);
          });
          inFlight.add(p);
        }
        await Promise.race([...inFlight, deadline]);
        if (performance.now() - started >= seconds * 1000) running = false;
      }
      await Promise.all(inFlight);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const p of peers) p.close();
  const s = summary(latencies);
  return { updatesPerSecond: Math.round(acked / elapsed), ackP50: s.p50, ackP99: s.p99 };
}

/**
 * Stores a document the way a busy server leaves it: a snapshot covering 90% of the trace
 * plus a log tail below the compaction threshold (`tailEntries` commits of the rest).
 * `historyCopies` > 1 types and deletes the whole text that many extra times first (the same
 * final text with N times the history).
 */
async function seedDocument(db: DatabaseHandle, patches: readonly Patch[], tailEntries: number, historyCopies = 1): Promise<{ id: string; text: string }> {
  const id = newDocumentId();
  await insertDocument(db.db, id);
  await db.db.updateTable('documents').set({ owner_id: benchUser.id }).where('id', '=', id).execute();
  await db.db.insertInto('document_members').values({ doc_id: id, user_id: benchUser.id, role: 'owner' }).execute();
  const doc = new LoroDoc();
  const text = doc.getText(TEXT);
  const apply = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      applyPatch(text, patches[i]!);
      doc.commit();
    }
  };
  for (let copy = 1; copy < historyCopies; copy++) {
    apply(0, patches.length);
    text.delete(0, text.length);
    doc.commit();
  }
  const tailStart = Math.floor(patches.length * 0.9);
  apply(0, tailStart);
  const snapshot = doc.export({ mode: 'snapshot' });
  const entries: Uint8Array[] = [doc.export({ mode: 'update' })];
  const perEntry = Math.ceil((patches.length - tailStart) / tailEntries);
  for (let from = tailStart; from < patches.length; from += perEntry) {
    const before = doc.oplogVersion();
    apply(from, Math.min(from + perEntry, patches.length));
    entries.push(doc.export({ mode: 'update', from: before }));
  }
  for (const entry of entries) await db.db.transaction().execute((trx) => appendLogEntry(trx, id, [entry]));
  // The snapshot covers entry 1 (everything before the tail), which it replaces.
  await replaceSnapshot(db.db, id, { seq: 1, bytes: snapshot, pending: null });
  return { id, text: text.toString() };
}

/**
 * Cold load: the first client of a stored document joins (the server loads snapshot + tail)
 * and receives everything; then it sends the first edit after the load. The client does no
 * CRDT work while a clock runs (the first edit comes from a fresh peer, which the server
 * imports like any other); it checks the content afterwards.
 */
async function coldLoad(
  server: ServerProcess,
  seeded: { id: string; text: string },
): Promise<{ serverLoadMs: number; joinMs: number; receivedMs: number; firstEditAckMs: number; clientImportMs: number }> {
  const editor = new LoroDoc();
  editor.getText(TEXT).insert(0, '!');
  editor.commit();
  const firstEdit = editor.export({ mode: 'update' });

  const peer = await RawPeer.connect(server.wsUrl, benchUser.token);
  const started = performance.now();
  const answer = await peer.joinAndWait(seeded.id);
  const joinMs = performance.now() - started;
  if (answer.type !== MessageType.JoinResponseOk) throw new Error('join failed');
  // The catch-up is one update exported from the server's oplog (or, for a document with ops
  // still waiting for dependencies, the stored bytes): done when what arrived adds up to the text.
  let seen = 0;
  let receivedMs = 0;
  await peer.until(
    () => {
      const updates = peer.updatesFor(seeded.id);
      if (updates.length === seen) return false;
      seen = updates.length;
      receivedMs = performance.now() - started; // arrival, before this check's own import
      const doc = new LoroDoc();
      doc.importBatch(updates);
      return doc.getText(TEXT).toString() === seeded.text;
    },
    { timeoutMs: 60_000, what: 'the catch-up' },
  );
  const sent = performance.now();
  const ack = await peer.ackFor(peer.update(seeded.id, [firstEdit]));
  const firstEditAckMs = performance.now() - sent;
  if (ack.status !== UpdateStatus.Ok) throw new Error(`ack status ${ack.status}`);
  peer.close();
  // What the catch-up costs a client whose document has a subscriber, as every Tandem client's does.
  const importStarted = performance.now();
  const subscribed = new LoroDoc();
  subscribed.subscribe(() => {});
  subscribed.importBatch(peer.updatesFor(seeded.id));
  const clientImportMs = performance.now() - importStarted;
  subscribed.free();
  return { serverLoadMs: serverLoadMs(server, seeded.id), joinMs: round(joinMs), receivedMs: round(receivedMs), firstEditAckMs: round(firstEditAckMs), clientImportMs: round(clientImportMs) };
}

/** Field by field, the median of several runs. */
function medianOf<T extends Record<string, number>>(runs: T[]): T {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0]!)) out[key] = [...runs.map((r) => r[key]!)].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  return out as T;
}

/** Warms the server up (first queries, JIT, Loro's module) so later figures are of documents, not start-up. */
async function warmUp(server: ServerProcess, docId: string): Promise<void> {
  const peer = await RawPeer.connect(server.wsUrl, benchUser.token);
  await peer.joinAndWait(docId);
  const typist = new Typist();
  for (let i = 0; i < 20; i++) await peer.ackFor(peer.update(docId, [typist.next()]));
  peer.close();
}

/**
 * Memory: RSS growth per idle loaded document and per idle connection, on a fresh server
 * (after one document was loaded and unloaded, so the runtime itself is warm).
 */
async function memory(server: ServerProcess, warmUpDocId: string, docIds: readonly string[], connections: number): Promise<{ perDocumentKiB: number; perConnectionKiB: number }> {
  const warm = await RawPeer.connect(server.wsUrl, benchUser.token);
  await warm.joinAndWait(warmUpDocId);
  warm.close();
  await warm.closed();
  const base = (await metrics(server, true)).memory.rss;
  // Documents are held by a few sockets (each stays under the join rate limit); their cost
  // is counted with the documents'.
  const holders = await Promise.all(Array.from({ length: Math.ceil(docIds.length / 50) }, () => RawPeer.connect(server.wsUrl, benchUser.token)));
  for (const [i, id] of docIds.entries()) await holders[Math.floor(i / 50)]!.joinAndWait(id);
  await tick();
  const withDocs = (await metrics(server, true)).memory.rss;
  const idle = await Promise.all(Array.from({ length: connections }, () => RawPeer.connect(server.wsUrl, benchUser.token)));
  const withConnections = (await metrics(server, true)).memory.rss;
  for (const p of [...holders, ...idle]) p.close();
  return {
    perDocumentKiB: round((withDocs - base) / docIds.length / 1024),
    perConnectionKiB: round((withConnections - withDocs) / connections / 1024),
  };
}

/** Event-loop stalls while a large document loads: a typist in another room keeps going. */
async function stallDuringLoad(server: ServerProcess, large: { id: string; text: string }): Promise<{ maxEventLoopDelayMs: number; typingAckMaxMs: number; loadJoinMs: number }> {
  const docId = await createDoc(server);
  const typistPeer = await RawPeer.connect(server.wsUrl, benchUser.token);
  await typistPeer.joinAndWait(docId);
  const typist = new Typist();
  const latencies: number[] = [];
  let typing = true;
  const typingDone = (async () => {
    while (typing) {
      const sent = performance.now();
      const ack = await typistPeer.ackFor(typistPeer.update(docId, [typist.next()]));
      if (ack.status !== UpdateStatus.Ok) throw new Error(`ack status ${ack.status}`);
      latencies.push(performance.now() - sent);
      await after(50);
    }
  })();
  await after(500);
  await resetEventLoop(server);
  // The load. What arrives is checked only after the typist stops: importing the ×10 catch-up
  // here blocks this process for ~0.5 s, which delayed the typist's Acks in *this* process
  // (its maximum read ~560–600 ms while the server's event loop stalled at most ~16 ms).
  const loader = await RawPeer.connect(server.wsUrl, benchUser.token);
  const started = performance.now();
  if ((await loader.joinAndWait(large.id)).type !== MessageType.JoinResponseOk) throw new Error('join failed');
  const joinMs = performance.now() - started;
  await loader.until(() => loader.updatesFor(large.id).length > 0, { timeoutMs: 60_000, what: 'the catch-up' });
  await after(500);
  const loop = (await metrics(server)).eventLoop;
  typing = false;
  await typingDone;
  typistPeer.close();
  await loader.until(
    () => {
      const doc = new LoroDoc();
      doc.importBatch(loader.updatesFor(large.id));
      return doc.getText(TEXT).toString() === large.text;
    },
    { timeoutMs: 60_000, what: 'the whole catch-up' },
  );
  loader.close();
  return { maxEventLoopDelayMs: loop.maxMs, typingAckMaxMs: round(Math.max(...latencies)), loadJoinMs: round(joinMs) };
}

/**
 * Session validation, the check on every request and socket: with the cache warm (the hot
 * path) and with every lookup going to the database (a cache miss, or a forged token).
 */
async function sessionValidation(db: DatabaseHandle, calls: number): Promise<{ cached: ReturnType<typeof summary>; uncached: ReturnType<typeof summary> }> {
  const events = new LocalAccessEventBus();
  const sessions = new SessionService(db.db, events);
  const user = await insertUser(db.db, { id: newDocumentId(), email: `bench-${Date.now()}@example.test`, displayName: 'bench', passwordHash: 'x' });
  const { token, session } = await sessions.create(user.id, {});
  const time = async (fn: () => Promise<unknown>): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await fn();
      samples.push(performance.now() - started);
    }
    return samples;
  };
  if (!(await sessions.validateToken(token))) throw new Error('session does not validate');
  const cached = await time(() => sessions.validateToken(token));
  const uncached = await time(async () => {
    events.publish({ type: 'session_revoked', sessionId: session.id }); // drops the cache entry only
    await sessions.validateToken(token);
  });
  return { cached: summary(cached), uncached: summary(uncached) };
}

/**
 * What the update check (server/sync/update-check.ts) costs per keystroke: every update of
 * automerge-paper as its author's client sends it (one commit each), checked one by one, and
 * the same with a bold mark every 20th keystroke. In-process: the check is pure CPU.
 */
function updateCheckCost(keystrokes: number): { plain: ReturnType<typeof summary>; marked: ReturnType<typeof summary>; wholeHistoryMs: number } {
  const limits = { maxOps: 200_000, maxAtoms: 16 * 1024 * 1024 };
  const patches = [...patchesOf(loadSequentialTrace('automerge-paper'))].slice(0, keystrokes);
  const measure = (withMarks: boolean): number[] => {
    const doc = new LoroDoc();
    configureText(doc);
    const text = doc.getText(TEXT);
    const updates: Uint8Array[] = [];
    patches.forEach((patch, i) => {
      const before = doc.oplogVersion();
      applyPatch(text, patch);
      if (withMarks && i % 20 === 0 && text.length > 2) text.mark({ start: 0, end: 2 }, 'bold', true);
      doc.commit();
      updates.push(doc.export({ mode: 'update', from: before }));
      before.free();
    });
    for (const u of updates.slice(0, 1_000)) checkUpdate(u, limits); // warm the JIT
    const micros: number[] = [];
    for (const u of updates) {
      const started = process.hrtime.bigint();
      const result = checkUpdate(u, limits);
      micros.push(Number(process.hrtime.bigint() - started) / 1_000);
      if (result.ok !== true) throw new Error(`a keystroke was refused: ${JSON.stringify(result)}`);
    }
    return micros;
  };
  const plain = measure(false);
  const marked = measure(true);
  const whole = new LoroDoc();
  const text = whole.getText(TEXT);
  for (const patch of patchesOf(loadSequentialTrace('automerge-paper'))) applyPatch(text, patch);
  whole.commit();
  const all = whole.export({ mode: 'update' });
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const started = performance.now();
    checkUpdate(all, limits);
    runs.push(performance.now() - started);
  }
  // The median: the first runs include compiling the reader.
  return { plain: summary(plain), marked: summary(marked), wholeHistoryMs: round(percentile(runs, 50), 1) };
}

// ---------------------------------------------------------------------------------------

interface BackendResult {
  backend: string;
  sessionValidation: Awaited<ReturnType<typeof sessionValidation>>;
  typing20PerSecond: ReturnType<typeof summary>;
  throughput50Clients10Docs: Awaited<ReturnType<typeof throughput>>;
  coldLoadAutomergePaper: Awaited<ReturnType<typeof coldLoad>>;
  coldLoadAutomergePaperX10: Awaited<ReturnType<typeof coldLoad>>;
  memory: Awaited<ReturnType<typeof memory>>;
  /** The server process: RSS after start, idle (no documents), and its peak over the load parts. */
  serverRssMiB: { idle: number; peak: number };
  stallWhileLoadingX10: Awaited<ReturnType<typeof stallDuringLoad>>;
}

async function runBackend(kind: 'embedded' | 'postgres'): Promise<BackendResult> {
  const log = (m: string): void => void process.stderr.write(`[${kind}] ${m}\n`);
  const db = await createDatabase(kind);
  try {
    log('seeding documents (automerge-paper, ×10 history, small documents)');
    const paper = [...patchesOf(loadSequentialTrace('automerge-paper'))];
    const flat = [...patchesOf(loadSequentialTrace('friendsforever_flat'))].slice(0, 3_000);
    const handle = await db.open();
    let seeded;
    let sessions!: Awaited<ReturnType<typeof sessionValidation>>;
    try {
      benchUser = await createBenchUser(handle);
      seeded = {
        papers: [await seedDocument(handle, paper, 400), await seedDocument(handle, paper, 400), await seedDocument(handle, paper, 400)],
        paperX10: await seedDocument(handle, paper, 400, 10),
        paperX10b: await seedDocument(handle, paper, 400, 10),
        small: [] as Awaited<ReturnType<typeof seedDocument>>[],
      };
      for (let i = 0; i < (quick ? 50 : 200) + 2; i++) seeded.small.push(await seedDocument(handle, flat, 20));
      log('session validation');
      sessions = await sessionValidation(handle, quick ? 2_000 : 10_000);
    } finally {
      await handle.close();
    }

    let server = await startServer(db);
    let figures;
    try {
      log('idle memory');
      const idleRssMiB = await idleRss(server);
      await warmUp(server, seeded.small.at(-1)!.id);
      log('cold load');
      // The median of three documents: single loads on this VM vary by ±30%.
      const coldLoadAutomergePaper = medianOf([await coldLoad(server, seeded.papers[0]!), await coldLoad(server, seeded.papers[1]!), await coldLoad(server, seeded.papers[2]!)]);
      const coldLoadAutomergePaperX10 = await coldLoad(server, seeded.paperX10);
      log('typing latency');
      const typing20PerSecond = await typingLatency(server, quick ? 5 : 20);
      log('throughput');
      const throughput50Clients10Docs = await throughput(server, quick ? 3 : 10);
      log('stall during load');
      const stallWhileLoadingX10 = await stallDuringLoad(server, seeded.paperX10b);
      // The highest RSS over every part above (cold loads of the ×10 history, 500 writers…).
      const serverRssMiB = { idle: idleRssMiB, peak: (await rssMiB(server)).peak };
      figures = { typing20PerSecond, throughput50Clients10Docs, coldLoadAutomergePaper, coldLoadAutomergePaperX10, stallWhileLoadingX10, serverRssMiB };
    } finally {
      await stopServer(server);
    }

    log('memory (fresh server)');
    server = await startServer(db);
    try {
      const [first, ...rest] = seeded.small;
      const mem = await memory(
        server,
        first!.id,
        rest.slice(0, -1).map((d) => d.id),
        quick ? 200 : 1_000,
      );
      return { backend: kind, sessionValidation: sessions, ...figures, memory: mem };
    } finally {
      await stopServer(server);
    }
  } finally {
    await db.drop();
  }
}

function table(results: BackendResult[]): string {
  const rows: [string, string, (r: BackendResult) => string][] = [
    ['ack latency, 1 client at 20 updates/s (p50 / p99)', 'p99 < 10 ms', (r) => `${r.typing20PerSecond.p50} / ${r.typing20PerSecond.p99} ms`],
    ['durable updates/s, 50 clients × 10 docs', '', (r) => `${r.throughput50Clients10Docs.updatesPerSecond}/s (ack p99 ${r.throughput50Clients10Docs.ackP99} ms)`],
    [
      'cold load automerge-paper (median of 3): server load / join answered / all received',
      '< 100 ms',
      (r) => `${r.coldLoadAutomergePaper.serverLoadMs} / ${r.coldLoadAutomergePaper.joinMs} / ${r.coldLoadAutomergePaper.receivedMs} ms`,
    ],
    ['first edit after that load: ack', '', (r) => `${r.coldLoadAutomergePaper.firstEditAckMs} ms`],
    ['a client with a subscriber imports that catch-up', '', (r) => `${r.coldLoadAutomergePaper.clientImportMs} ms`],
    [
      'cold load automerge-paper ×10 history: server load / join answered / all received',
      '',
      (r) => `${r.coldLoadAutomergePaperX10.serverLoadMs} / ${r.coldLoadAutomergePaperX10.joinMs} / ${r.coldLoadAutomergePaperX10.receivedMs} ms`,
    ],
    ['first edit after the ×10 load: ack', '', (r) => `${r.coldLoadAutomergePaperX10.firstEditAckMs} ms`],
    ['max event-loop stall while another room loads ×10', '< 50 ms', (r) => `${r.stallWhileLoadingX10.maxEventLoopDelayMs} ms (typist ack max ${r.stallWhileLoadingX10.typingAckMaxMs} ms)`],
    ['server RSS: idle after start / peak over the load parts', 'embedded < 250 / 500 MiB', (r) => `${r.serverRssMiB.idle} / ${r.serverRssMiB.peak} MiB`],
    ['memory per idle loaded document (3k-edit doc)', '', (r) => `${r.memory.perDocumentKiB} KiB`],
    ['memory per idle connection', '', (r) => `${r.memory.perConnectionKiB} KiB`],
    ['session validation, cached (p50 / p99)', 'p99 < 1 ms', (r) => `${r.sessionValidation.cached.p50} / ${r.sessionValidation.cached.p99} ms`],
    ['session validation, from the database (p50 / p99)', '', (r) => `${r.sessionValidation.uncached.p50} / ${r.sessionValidation.uncached.p99} ms`],
  ];
  const header = `| figure | target | ${results.map((r) => r.backend).join(' | ')} |\n| --- | --- |${results.map(() => ' --- |').join('')}`;
  return [header, ...rows.map(([name, target, get]) => `| ${name} | ${target} | ${results.map(get).join(' | ')} |`)].join('\n');
}

/** The version-history rows (test/bench/history.ts) on one backend. */
async function historyBackend(kind: 'embedded' | 'postgres'): Promise<HistoryResult & { backend: string }> {
  const db = await createDatabase(kind);
  try {
    const handle = await db.open();
    benchUser = await createBenchUser(handle);
    const seeded = await seedHistory(handle, benchUser.id);
    await handle.close();
    const server = await startServer(db);
    try {
      return { backend: kind, ...(await runHistoryBench(server, seeded, benchUser.token, quick)) };
    } finally {
      await stopServer(server);
    }
  } finally {
    await db.drop();
  }
}

async function main(): Promise<void> {
  // Servers run built, as in production.
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: 'inherit' });
  if (args.includes('--compare')) return compare();
  if (backends.length === 0) throw new Error('no backend to run (is TANDEM_BENCH_DATABASE_URL set for postgres?)');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const results: BackendResult[] = [];
  const updateCheck = only === undefined || only === 'sync' || only === 'update-check' ? updateCheckCost(quick ? 20_000 : 100_000) : null;
  const imports = only === undefined || only === 'sync' || only === 'import' ? importEachCost() : null;
  if (only === undefined || only === 'sync') for (const b of backends) results.push(await runBackend(b));
  const redisUrl = process.env.TANDEM_BENCH_REDIS_URL ?? process.env.TANDEM_TEST_REDIS_URL ?? null;
  const cluster = (only === undefined || only === 'cluster') && postgresUrl ? await runClusterBench({ postgresUrl, redisUrl, quick, log: (m) => void process.stderr.write(`[cluster] ${m}\n`) }) : null;
  const history: (HistoryResult & { backend: string })[] = [];
  if (only === undefined || only === 'history') for (const b of backends) history.push(await historyBackend(b));
  // `--only textarea`: the textarea part alone (hop by hop), printed, not written: a partial result.
  const extension =
    only === undefined || only === 'extension' || only === 'textarea'
      ? await runExtensionBench({ quick, editors: only !== 'textarea', log: (m) => void process.stderr.write(`[extension] ${m}\n`) })
      : null;
  if ((only === undefined || only === 'cluster') && !postgresUrl) process.stderr.write('[cluster] skipped: needs TANDEM_BENCH_DATABASE_URL (several nodes need Postgres)\n');
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30), node: process.version };
  const output = { date: new Date().toISOString(), command: `npm run bench -- ${args.join(' ')}`.trim(), machine, quick, results, cluster, extension };
  await mkdir('bench-results', { recursive: true });
  const written: string[] = [];
  // One file per part, so running one part (--only) leaves the others' figures alone.
  if (results.length > 0) {
    await writeFile(join('bench-results', 'sync-core.json'), `${JSON.stringify({ ...output, updateCheck, cluster: undefined, extension: undefined }, null, 2)}\n`);
    written.push('bench-results/sync-core.json');
  }
  if (imports) {
    await writeFile(join('bench-results', 'import.json'), `${JSON.stringify({ date: output.date, command: output.command, machine, imports }, null, 2)}\n`);
    written.push('bench-results/import.json');
  }
  if (cluster) {
    await writeFile(join('bench-results', 'cluster.json'), `${JSON.stringify({ date: output.date, command: output.command, machine, quick, cluster }, null, 2)}\n`);
    written.push('bench-results/cluster.json');
  }
  if (history.length > 0) {
    await writeFile(join('bench-results', 'history.json'), `${JSON.stringify({ date: output.date, command: output.command, machine, quick, history }, null, 2)}\n`);
    written.push('bench-results/history.json');
  }
  if (extension && only !== 'textarea') {
    await writeFile(join('bench-results', 'extension.json'), `${JSON.stringify({ date: output.date, command: output.command, machine, quick, extension }, null, 2)}\n`);
    written.push('bench-results/extension.json');
  }
  process.stdout.write(`\nTandem — ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpu}, Node ${machine.node}\n\n`);
  if (results.length > 0) process.stdout.write(`${table(results)}\n\n`);
  if (updateCheck) {
    process.stdout.write(
      `Update check (server/sync/update-check.ts), automerge-paper keystrokes as sent (target p50 < 50 µs):\n\n| update | p50 | p99 | max |\n| --- | --- | --- | --- |\n` +
        `| one keystroke | ${updateCheck.plain.p50} µs | ${updateCheck.plain.p99} µs | ${updateCheck.plain.max} µs |\n` +
        `| one keystroke, a bold mark every 20th | ${updateCheck.marked.p50} µs | ${updateCheck.marked.p99} µs | ${updateCheck.marked.max} µs |\n` +
        `| the whole history as one update (260k edits) | ${updateCheck.wholeHistoryMs} ms | | |\n\n`,
    );
  }
  if (imports) process.stdout.write(`Several blobs into a document with state (shared/import-updates.ts; target: one by one never more than 10% slower):\n\n${importEachTable(imports)}\n\n`);
  if (cluster) process.stdout.write(`Three nodes on this machine, writer on node A, readers on A, B and C:\n\n${clusterTable(cluster)}\n\n`);
  if (history.length > 0) process.stdout.write(`Version history on automerge-paper's history (REST, built server):\n\n${historyTable(history)}\n\n`);
  if (extension) process.stdout.write(`The extension in Chromium (two users, one server):\n\n${extensionTable(extension)}\n\n`);
  process.stdout.write(`written: ${written.join(', ') || 'nothing'}\n`);
}

/** `--compare`: Tandem against Hocuspocus, the Yjs reference server and loro's SimpleServer (needs Postgres). */
async function compare(): Promise<void> {
  if (!postgresUrl) throw new Error('--compare needs TANDEM_BENCH_DATABASE_URL: every server stores in Postgres');
  const servers = args.includes('--servers') ? args[args.indexOf('--servers') + 1]!.split(',') : undefined;
  // `--loads 10x10,100x10` (documents × clients each) and `--parts typing,replay,large,idle`: one workload, for profiling.
  const loads = args.includes('--loads') ? args[args.indexOf('--loads') + 1]!.split(',').map((l) => l.split('x').map(Number) as [number, number]) : undefined;
  const parts = args.includes('--parts') ? new Set(args[args.indexOf('--parts') + 1]!.split(',') as Part[]) : undefined;
  for (const part of parts ?? []) if (!PARTS.includes(part)) throw new Error(`--parts: ${part} is not one of ${PARTS.join(', ')}`);
  const measured = await runCompare({
    quick,
    postgresUrl,
    redisUrl: process.env.TANDEM_BENCH_REDIS_URL ?? process.env.TANDEM_TEST_REDIS_URL ?? null,
    ...(servers ? { servers } : {}),
    ...(loads ? { loads } : {}),
    ...(parts ? { parts } : {}),
    log: (m) => void process.stderr.write(`[compare] ${m}\n`),
  });
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: round(totalmem() / 2 ** 30), node: process.version };
  if (loads || parts) {
    // A partial run (for profiling) prints its figures and leaves the full comparison's files alone.
    process.stdout.write(`\n${compareTable(measured)}\n\n(partial run: bench-results/compare.json not written)\n`);
    return;
  }
  await mkdir('bench-results', { recursive: true });
  const date = new Date().toISOString();
  const command = `npm run bench -- ${args.join(' ')}`;
  // `--servers` re-measures some servers: their rows replace those of an earlier run of the same kind.
  let results = measured.map((r) => ({ ...r, measuredAt: date }));
  if (servers) {
    const earlier = await readFile(join('bench-results', 'compare.json'), 'utf8').then(
      (t) => JSON.parse(t) as { quick: boolean; results: typeof results },
      () => null,
    );
    if (earlier && earlier.quick === quick) {
      const fresh = new Map(results.map((r) => [r.server, r]));
      const kept = earlier.results.map((r) => fresh.get(r.server) ?? r);
      results = [...kept, ...results.filter((r) => !earlier.results.some((e) => e.server === r.server))];
    }
  }
  await writeFile(join('bench-results', 'compare.json'), `${JSON.stringify({ date, command, machine, quick, results }, null, 2)}\n`);
  const caption = `${date.slice(0, 10)} · ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.node} · ${command}`;
  await writeFile(join('bench-results', 'compare.svg'), compareChart(results, caption));
  await writeFile(join('bench-results', 'compare.md'), compareMarkdown(results, caption));
  process.stdout.write(`\n${compareTable(results)}\n\nwritten: bench-results/compare.json, compare.md, compare.svg\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

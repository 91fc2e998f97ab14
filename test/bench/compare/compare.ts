/**
 * `npm run bench -- --compare`: the same workloads against Tandem and the servers people would
 * pick instead, each server in its own process on a fresh Postgres database, clients in this
 * process speaking each server's own protocol. Work in progress (see the README): typing at
 * several loads and a trace replay so far; the join storm, cold start and three-node runs follow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { spawnServer } from '../../helpers/server-process';
import { createDocument, signUp } from '../../helpers/test-server';
import { loadSequentialTrace, patchesOf } from '../../helpers/traces';
import { percentile, round } from '../stats';
import { DURABLE_ACKS, connectClient, type BenchClient, type ServerKind } from './clients';

const ROOT = join(import.meta.dirname, '../../..');

interface RunningPeer {
  name: string;
  kind: ServerKind;
  wsUrl: (docId: string) => string;
  /** Creates a document and returns the id clients join (Tandem needs one made through its API). */
  newDocument(): Promise<string>;
  token: string | null;
  pid: number;
  storedBytes(docId: string): Promise<number>;
  stop(): Promise<void>;
}

export interface LoadResult {
  connections: number;
  docs: number;
  latency: { p50: number; p99: number; p999: number; n: number };
  sentPerSecond: number;
  converged: boolean;
}

export interface PeerResult {
  server: string;
  durableAcks: string;
  loads: LoadResult[];
  replay: { updates: number; seconds: number; updatesPerSecond: number; converged: boolean; storedBytes: number } | null;
  cpuSeconds: number;
  peakRssMiB: number;
  error?: string;
}

function procStats(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
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

async function spawnPeer(kind: Exclude<ServerKind, 'tandem'>, databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/compare/peer-server.ts', kind, databaseUrl], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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

async function startPeer(name: string, adminUrl: string): Promise<RunningPeer> {
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
  if (name.startsWith('tandem')) {
    const dataDir = name === 'tandem-embedded' ? await mkdtemp(join(tmpdir(), 'tandem-cmp-')) : null;
    const server = await spawnServer(dataDir ? { TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10' } : { DATABASE_URL: db.url, TANDEM_PASSWORD_COST: '10' });
    const { token } = await signUp(server.httpUrl);
    return {
      name,
      kind: 'tandem',
      wsUrl: () => server.wsUrl,
      newDocument: () => createDocument({ httpUrl: server.httpUrl, token }),
      token,
      pid: server.child.pid!,
      storedBytes: async (docId) =>
        dataDir
          ? Number.NaN // embedded: inside the data folder, not queried from here
          : query(
              `select coalesce((select sum(octet_length(updates)) from doc_updates where doc_id = $1), 0) + coalesce((select sum(octet_length(bytes)) from doc_snapshots where doc_id = $1), 0) as n`,
              [docId],
            ),
      stop: async () => {
        server.child.kill('SIGTERM');
        await server.exited;
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
        await db.drop();
      },
    };
  }
  const kind = name as Exclude<ServerKind, 'tandem'>;
  const { child, port } = await spawnPeer(kind, db.url);
  let counter = 0;
  const stored: Record<typeof kind, string> = {
    hocuspocus: 'select coalesce(sum(octet_length(data)), 0) as n from bench_hocuspocus where name = $1',
    'y-websocket': 'select coalesce(sum(octet_length(update)), 0) as n from bench_yws where name = $1',
    loro: "select coalesce(sum(octet_length(data)), 0) as n from bench_loro where room like '%' || $1",
  };
  return {
    name,
    kind,
    wsUrl: () => `ws://127.0.0.1:${port}`,
    newDocument: async () => `doc${++counter}-${Math.random().toString(36).slice(2, 8)}`,
    token: null,
    pid: child.pid!,
    storedBytes: (docId) => query(stored[kind], [docId]),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await db.drop();
    },
  };
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** N documents × M clients, each typing 5 updates/s (a marker per update, so every arrival is timed). */
async function typing(peer: RunningPeer, docs: number, perDoc: number, durationMs: number): Promise<LoadResult> {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  const groups: BenchClient[][] = [];
  for (let d = 0; d < docs; d++) {
    const docId = await peer.newDocument();
    const group: BenchClient[] = [];
    for (let c = 0; c < perDoc; c++) {
      const client = await connectClient(peer.kind, peer.wsUrl(docId), docId, peer.token);
      client.onRemoteInsert((inserted) => {
        const now = performance.now();
        for (const m of inserted.matchAll(/#(\w+)#/g)) {
          const t = sent.get(m[1]!);
          if (t !== undefined) latencies.push(now - t);
        }
      });
      group.push(client);
    }
    groups.push(group);
  }
  await Promise.all(groups.flat().map((c) => c.ready()));
  let count = 0;
  const timers: ReturnType<typeof setInterval>[] = [];
  const start = performance.now();
  groups.flat().forEach((client, i) => {
    const startDelay = Math.random() * 200;
    setTimeout(() => {
      timers.push(
        setInterval(() => {
          const id = `c${i}n${count++}`;
          sent.set(id, performance.now());
          client.splice(Math.floor(Math.random() * (client.length() + 1)), 0, `#${id}#`);
        }, 200),
      );
    }, startDelay);
  });
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  for (const t of timers) clearInterval(t);
  const seconds = (performance.now() - start) / 1000;
  await Promise.race([Promise.all(groups.flat().map((c) => c.settled())), new Promise((resolve) => setTimeout(resolve, 30_000))]);
  const converged = await waitUntil(() => groups.every((g) => g.every((c) => c.text() === g[0]!.text())), 30_000);
  for (const c of groups.flat()) c.close();
  return {
    connections: docs * perDoc,
    docs,
    latency: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2), p999: round(percentile(latencies, 99.9), 2), n: latencies.length },
    sentPerSecond: round(count / seconds),
    converged,
  };
}

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
  // Stores that save on a timer get time to save before bytes are counted.
  let storedBytes = 0;
  await waitUntil(async () => (storedBytes = await peer.storedBytes(docId)) > 0, 15_000);
  writer.close();
  reader.close();
  return { updates: patches.length, seconds: round(seconds, 2), updatesPerSecond: round(patches.length / seconds), converged, storedBytes };
}

export const SERVERS = ['tandem-embedded', 'tandem-postgres', 'hocuspocus', 'y-websocket', 'loro'] as const;

export async function runCompare(options: { quick: boolean; postgresUrl: string; servers?: readonly string[]; log: (m: string) => void }): Promise<PeerResult[]> {
  const loads = options.quick ? [[5, 2], [25, 4]] : [[5, 2], [25, 4], [50, 10], [100, 10]];
  const durationMs = options.quick ? 5_000 : 15_000;
  const results: PeerResult[] = [];
  for (const name of options.servers ?? SERVERS) {
    options.log(name);
    let peer: RunningPeer | null = null;
    const result: PeerResult = { server: name, durableAcks: '', loads: [], replay: null, cpuSeconds: Number.NaN, peakRssMiB: Number.NaN };
    try {
      peer = await startPeer(name, options.postgresUrl);
      result.durableAcks = DURABLE_ACKS[peer.kind];
      for (const [docs, perDoc] of loads) {
        options.log(`${name}: typing, ${docs! * perDoc!} connections`);
        result.loads.push(await typing(peer, docs!, perDoc!, durationMs));
      }
      options.log(`${name}: trace replay`);
      result.replay = await replay(peer);
      Object.assign(result, procStats(peer.pid));
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
      options.log(`${name}: failed: ${result.error}`);
    } finally {
      await peer?.stop().catch(() => {});
    }
    results.push(result);
  }
  return results;
}

export function compareTable(results: PeerResult[]): string {
  const loads = [...new Set(results.flatMap((r) => r.loads.map((l) => l.connections)))].sort((a, b) => a - b);
  const header = `| server | durable acks | ${loads.map((c) => `p50 / p99 / p999 at ${c} conns`).join(' | ')} | replay updates/s | stored bytes | CPU s | peak RSS |`;
  const sep = `| --- | --- | ${loads.map(() => '---').join(' | ')} | --- | --- | --- | --- |`;
  const rows = results.map((r) => {
    const cells = loads.map((c) => {
      const l = r.loads.find((x) => x.connections === c);
      if (!l) return r.error ? `failed: ${r.error}` : '';
      return `${l.latency.p50} / ${l.latency.p99} / ${l.latency.p999} ms${l.converged ? '' : ' (DIVERGED)'}`;
    });
    const replayCell = r.replay ? `${r.replay.updatesPerSecond}${r.replay.converged ? '' : ' (DIVERGED)'}` : '';
    return `| ${r.server} | ${r.durableAcks} | ${cells.join(' | ')} | ${replayCell} | ${r.replay?.storedBytes ?? ''} | ${r.cpuSeconds} | ${r.peakRssMiB} MiB |`;
  });
  return [header, sep, ...rows].join('\n');
}

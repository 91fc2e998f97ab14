/**
 * Cross-node figures: edit-to-remote-client latency with the writer on node A and readers on
 * A (same node), B and C, at 1, 10 and 100 writers typing 5 updates/s; and raw bus throughput,
 * Postgres NOTIFY against Redis. Three node processes on this machine, real Postgres.
 */
import { LoroDoc } from 'loro-crdt';
import pg from 'pg';
import { openDatabase } from '../../db/open-database';
import { PostgresBus } from '../../server/cluster/postgres-bus';
import { RedisBus } from '../../server/cluster/redis-bus';
import type { Bus } from '../../server/cluster/bus';
import { createLogger } from '../../server/logger';
import { UpdateStatus } from '../../shared/protocol/index';
import { RawPeer } from '../helpers/raw-peer';
import { LOAD_GENERATOR_LIMITS, spawnServer, type ServerProcess } from '../helpers/server-process';
import { signUp } from '../helpers/test-server';
import { TEXT } from '../helpers/traces';
import { round, summary } from './stats';

export interface ClusterFigures {
  bus: 'postgres' | 'redis';
  levels: { writers: number; sameNode: ReturnType<typeof summary>; crossNode: ReturnType<typeof summary>; ackP99: number }[];
}

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function freshDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tandem_bench_cluster_${Date.now().toString(36)}`;
  const admin = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await (await openDatabase({ kind: 'postgres', url: url.toString() })).close();
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** One writer per document on node A; readers of it on A, B and C record when each update lands. */
async function latencyLevel(nodes: ServerProcess[], token: string, writers: number, seconds: number): Promise<ClusterFigures['levels'][number]> {
  const docIds: string[] = [];
  for (let i = 0; i < writers; i++) {
    const res = await fetch(`${nodes[0]!.httpUrl}/api/documents`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    docIds.push(((await res.json()) as { id: string }).id);
  }
  const same: number[] = [];
  const cross: number[] = [];
  const acks: number[] = [];
  const sockets: RawPeer[] = [];
  await Promise.all(
    docIds.map(async (docId) => {
      const writer = await RawPeer.connect(nodes[0]!.wsUrl, token);
      const readers = await Promise.all(nodes.map((n) => RawPeer.connect(n.wsUrl, token)));
      sockets.push(writer, ...readers);
      await writer.joinAndWait(docId);
      for (const r of readers) await r.joinAndWait(docId);
      const doc = new LoroDoc();
      const me = doc.peerIdStr;
      const sentAt: number[] = []; // by the counter each update ends at
      // Each reader imports what arrives and times every update of the writer it now has.
      readers.forEach((reader, node) => {
        const replica = new LoroDoc();
        let seen = 0;
        let timed = 0;
        reader.ws.on('message', () => {
          const updates = reader.updatesFor(docId);
          if (updates.length === seen) return;
          replica.importBatch(updates.slice(seen));
          seen = updates.length;
          const now = performance.now();
          const have = replica.oplogVersion().get(me) ?? 0;
          for (; timed < sentAt.length && timed < have; timed++) {
            const at = sentAt[timed];
            if (at !== undefined) (node === 0 ? same : cross).push(now - at);
          }
        });
      });
      const end = performance.now() + seconds * 1000;
      // 5 updates per second, starting at a random offset so writers do not march in step.
      await after(Math.random() * 200);
      while (performance.now() < end) {
        const before = doc.oplogVersion();
        doc.getText(TEXT).insert(doc.getText(TEXT).length, 'x');
        doc.commit();
        const update = doc.export({ mode: 'update', from: before });
        const counter = doc.oplogVersion().get(me)!;
        const started = performance.now();
        for (let c = sentAt.length; c < counter; c++) sentAt[c] = c === counter - 1 ? started : Number.NaN;
        const id = writer.update(docId, [update]);
        void writer.ackFor(id, 60_000).then((ack) => {
          if (ack.status === UpdateStatus.Ok) acks.push(performance.now() - started);
        });
        await after(200);
      }
    }),
  );
  await after(1_000); // let the last updates land (not measured: only arrivals are)
  for (const s of sockets) s.close();
  const clean = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
  return { writers, sameNode: summary(clean(same)), crossNode: summary(clean(cross)), ackP99: summary(acks).p99 };
}

/** Messages per second one bus instance delivers to another (doorbell-sized). */
async function busThroughput(make: () => Promise<Bus>, seconds: number): Promise<number> {
  const sender = await make();
  const receiver = await make();
  let received = 0;
  receiver.onMessage(() => received++);
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    for (let i = 0; i < 200; i++) sender.publish({ type: 'doorbell', node: sender.nodeId, heads: [[`doc${sent++ % 1000}`, sent]] });
    await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = performance.now() + 5_000;
  while (received < sent && performance.now() < deadline) await after(20);
  const rate = received / ((performance.now() - started) / 1000);
  await sender.close();
  await receiver.close();
  return Math.round(rate);
}

export async function runClusterBench(options: {
  postgresUrl: string;
  redisUrl: string | null;
  quick: boolean;
  log: (m: string) => void;
}): Promise<{ latency: ClusterFigures[]; busMessagesPerSecond: Record<string, number> }> {
  const latency: ClusterFigures[] = [];
  const busMessagesPerSecond: Record<string, number> = {};
  const kinds = (['postgres', 'redis'] as const).filter((k) => k === 'postgres' || options.redisUrl);
  for (const bus of kinds) {
    const db = await freshDatabase(options.postgresUrl);
    const env = { ...LOAD_GENERATOR_LIMITS, DATABASE_URL: db.url, TANDEM_BUS: bus, TANDEM_LOG_LEVEL: 'info', ...(bus === 'redis' ? { TANDEM_REDIS_URL: options.redisUrl! } : {}) };
    const nodes = await Promise.all([0, 1, 2].map(() => spawnServer(env, [], { built: true })));
    try {
      const { token } = await signUp(nodes[0]!.httpUrl);
      const levels = [];
      for (const writers of options.quick ? [1, 10] : [1, 10, 100]) {
        options.log(`cluster (${bus} bus): ${writers} writers`);
        levels.push(await latencyLevel(nodes, token, writers, options.quick ? 4 : 10));
      }
      latency.push({ bus, levels });
      options.log(`bus throughput (${bus})`);
      const log = createLogger('silent');
      busMessagesPerSecond[bus] = await busThroughput(
        async () => {
          const nodeId = Math.random().toString(36).slice(2);
          if (bus === 'redis') {
            const b = new RedisBus(nodeId, { url: options.redisUrl!, log });
            await b.start();
            return b;
          }
          const handle = await openDatabase({ kind: 'postgres', url: db.url });
          const b = new PostgresBus(nodeId, { url: db.url, db: handle.db, log });
          await b.start();
          const close = b.close.bind(b);
          b.close = async () => {
            await close();
            await handle.close();
          };
          return b;
        },
        options.quick ? 2 : 5,
      );
    } finally {
      for (const n of nodes) {
        n.child.kill('SIGTERM');
        await n.exited;
      }
      await db.drop();
    }
  }
  return { latency, busMessagesPerSecond };
}

export function clusterTable(result: Awaited<ReturnType<typeof runClusterBench>>): string {
  const rows = ['| bus | writers (5 updates/s each) | same node p50 / p99 | cross node p50 / p99 | ack p99 |', '| --- | --- | --- | --- | --- |'];
  for (const figures of result.latency) {
    for (const l of figures.levels) {
      rows.push(`| ${figures.bus} | ${l.writers} | ${l.sameNode.p50} / ${l.sameNode.p99} ms | ${l.crossNode.p50} / ${l.crossNode.p99} ms | ${round(l.ackP99, 2)} ms |`);
    }
  }
  rows.push('', '| bus | messages/s (one publisher, one subscriber) |', '| --- | --- |');
  for (const [bus, rate] of Object.entries(result.busMessagesPerSecond)) rows.push(`| ${bus} | ${rate} |`);
  return rows.join('\n');
}

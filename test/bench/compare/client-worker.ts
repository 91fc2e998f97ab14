/**
 * A process of benchmark clients (`fork`ed by compare.ts, one per core): it connects the
 * clients it is given, types when told, and reports what it measured. Spreading clients over
 * processes keeps the client side from being the bottleneck: a Loro or Yjs client imports
 * every other client's update, and at 1,000 connections one process could not keep up.
 *
 * Latency crosses processes: each update carries its send time from `process.hrtime` (the
 * system's monotonic clock, the same in every process), and the receiver subtracts.
 */
import { connectClient, fingerprint, type BenchClient, type ServerKind } from './clients';

// Every y-websocket provider adds a process 'exit' listener; hundreds per process are expected here.
process.setMaxListeners(0);

export interface ClientSpec {
  id: string;
  kind: ServerKind;
  url: string;
  docId: string;
  token: string | null;
}

export type WorkerRequest = { type: 'connect'; clients: ClientSpec[] } | { type: 'type'; durationMs: number; intervalMs: number; sizes: string[] } | { type: 'texts' } | { type: 'close' };

export type WorkerReply =
  | { type: 'connected'; ms: number[] }
  /** `cpuSeconds`: this client process's CPU time while typing (user + system). */
  | { type: 'typed'; latencies: number[]; sent: number; settled: boolean; cpuSeconds: number }
  /** Each client's text as length:sha1 (whole texts of large documents are too big to post). */
  | { type: 'texts'; texts: Record<string, string> }
  | { type: 'error'; message: string };

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** A send time between ⟪ and ⟫: characters no trace contains (automerge-paper's LaTeX has `#1#`). */
const MARKER = /⟪(\d+(?:\.\d+)?)⟫/g;

const clients = new Map<string, BenchClient>();
const latencies: number[] = [];

function reply(message: WorkerReply): void {
  process.send!(message);
}

/** Connects every client at once; replies with each one's time from connect to synced. */
async function connect(specs: ClientSpec[]): Promise<void> {
  const ms = await Promise.all(
    specs.map(async (spec) => {
      const started = nowMs();
      const client = await connectClient(spec.kind, spec.url, spec.docId, spec.token);
      client.onRemoteInsert((inserted) => {
        const now = nowMs();
        for (const m of inserted.matchAll(MARKER)) latencies.push(now - Number(m[1]));
      });
      await client.ready();
      clients.set(spec.id, client);
      return nowMs() - started;
    }),
  );
  reply({ type: 'connected', ms });
}

/** Every client types one update per interval (a timestamp marker plus a trace-sized insert). */
async function type(durationMs: number, intervalMs: number, sizes: string[]): Promise<void> {
  latencies.length = 0;
  const cpuBefore = process.cpuUsage();
  let sent = 0;
  const timers: ReturnType<typeof setInterval>[] = [];
  const all = [...clients.values()];
  for (const client of all) {
    const start = setTimeout(() => {
      timers.push(
        setInterval(() => {
          const text = sizes[sent % sizes.length]!;
          sent++;
          client.splice(Math.floor(Math.random() * (client.length() + 1)), 0, `⟪${nowMs().toFixed(3)}⟫${text}`);
        }, intervalMs),
      );
    }, Math.random() * intervalMs);
    timers.push(start);
  }
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  for (const t of timers) clearInterval(t);
  const settled = await Promise.race([Promise.all(all.map((c) => c.settled())).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
  const cpu = process.cpuUsage(cpuBefore);
  reply({ type: 'typed', latencies: [...latencies], sent, settled, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
}

process.on('message', (message: WorkerRequest) => {
  const run = async (): Promise<void> => {
    switch (message.type) {
      case 'connect':
        return connect(message.clients);
      case 'type':
        return type(message.durationMs, message.intervalMs, message.sizes);
      case 'texts':
        return reply({ type: 'texts', texts: Object.fromEntries([...clients].map(([id, c]) => [id, fingerprint(c.text())])) });
      case 'close':
        for (const c of clients.values()) c.close();
        clients.clear();
        process.exit(0);
    }
  };
  run().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});

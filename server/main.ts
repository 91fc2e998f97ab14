/**
 * `npm start`: one Tandem node, or (with TANDEM_NODES=N) a primary that runs N node processes
 * sharing one port, to use every core of the machine. Configured from the environment.
 */
import cluster from 'node:cluster';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, readConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { createTandemServer } from './tandem-server';

/** A node that crashed is replaced after this long (not faster: a crash loop must not spin). */
const RESTART_DELAY_MS = 1_000;

/**
 * Benchmarks only (`npm run bench -- --only extension`): with TANDEM_MEASURE_HOPS=<file> the
 * server marks when frames come in and go out (shared/trace.ts) and writes them to that file
 * on SIGUSR2, as JSON.
 */
function measureHops(file: string | undefined): void {
  if (!file) return;
  (globalThis as { __tandemMeasure?: boolean }).__tandemMeasure = true;
  process.on('SIGUSR2', () => {
    const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tandem:hop:'));
    writeFileSync(file, JSON.stringify(marks.map((m) => ({ hop: m.name.slice('tandem:hop:'.length), at: performance.timeOrigin + m.startTime }))));
    performance.clearMarks();
  });
}

async function runNode(config: Readonly<Config>, log: Logger): Promise<void> {
  const server = await createTandemServer({ config, log });
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1); // a second Ctrl-C does not wait
    log.info('server.stopping', { signal });
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('server.stop_failed', { error });
        process.exit(1);
      },
    );
  };
  // Before listening: whoever reads `server.listening` may signal at once, and a signal without
  // a handler kills the process on the spot (nothing written, exit by signal).
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  measureHops(process.env.TANDEM_MEASURE_HOPS);
  await server.listen();
}

/** Forks the nodes, replaces crashed ones, and on SIGTERM/SIGINT stops them all. */
function runPrimary(config: Readonly<Config>, log: Logger): void {
  // Nodes run this module itself (dist/main.js when built), not whatever script imported it.
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url) });
  let stopping = false;
  const fork = (): void => {
    cluster.fork();
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('primary.stopped');
        process.exit(0);
      }
      return;
    }
    log.warn('primary.node_exited', { pid: worker.process.pid, code, signal, restartInMs: RESTART_DELAY_MS });
    setTimeout(fork, RESTART_DELAY_MS);
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('primary.stopping', { signal });
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info('primary.started', { nodes: config.cluster.nodes, bus: config.cluster.bus });
  for (let i = 0; i < config.cluster.nodes; i++) fork();
}

try {
  const config = readConfig();
  const log = createLogger(config.logLevel, { pid: process.pid });
  if (config.cluster.nodes > 1 && cluster.isPrimary) runPrimary(config, log);
  else
    runNode(config, log).catch((error: unknown) => {
      process.stderr.write(`tandem failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}

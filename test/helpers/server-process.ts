/** A Tandem server in its own process (`node --import tsx server/main.ts`), for crash tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  httpUrl: string;
  wsUrl: string;
  /** `/metrics` on TANDEM_METRICS_ADDR, when the server was given one. */
  metricsUrl: string | null;
  /** Every log line the server wrote. */
  log: string[];
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * A load generator is thousands of users on one address with one account: benchmarks lift the
 * per-address and per-account limits (README "Limits"), which would otherwise refuse it.
 */
export const LOAD_GENERATOR_LIMITS: Record<string, string> = {
  TANDEM_MAX_SOCKETS_PER_ADDRESS: '1000000',
  TANDEM_MAX_SOCKETS_PER_ACCOUNT: '1000000',
  TANDEM_JOINS_PER_ADDRESS: '1000000',
};

/** This process's environment minus anything that would pick the server's database. */
function inherited(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _url, TANDEM_DATA_DIR: _dir, ...rest } = process.env;
  return rest;
}

/**
 * Starts a server with `env` on a free port and waits until it listens: from source (tsx), or
 * with `built` the JavaScript production runs (dist/main.js: `npm run build:server` first).
 */
export async function spawnServer(env: Record<string, string>, nodeArgs: string[] = [], { built = false }: { built?: boolean } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, ...(built ? ['dist/main.js'] : ['--import', 'tsx', 'server/main.ts'])], {
    cwd: ROOT,
    env: { ...inherited(), TANDEM_PORT: '0', TANDEM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  let metricsUrl: string | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      log.push(line);
      try {
        const record = JSON.parse(line) as { event?: string; url?: string };
        if (record.event === 'metrics.listening' && record.url) metricsUrl = record.url;
        if (record.event === 'server.listening' && record.url) resolve(record.url);
      } catch {
        // not a log record (a crash trace): kept in `log`
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening:\n${log.join('\n')}`)));
  });
  return { child, httpUrl: url, wsUrl: `${url.replace(/^http/, 'ws')}/sync`, metricsUrl, log, exited };
}

/**
 * The production path from a clean copy of the repository: `npm ci --omit=dev` (no TypeScript
 * loader, no WXT, no test tools) and `npm start`, which builds the server and the document
 * page's editor with esbuild and runs the built JavaScript; the admin CLI works beside it.
 * Uses the npm registry through npm's cache, as CI's `npm ci` just filled it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

/** The repository's files as a commit of the working tree would hold them, copied to `dir`. */
async function copyRepository(dir: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter((f) => f && existsSync(join(ROOT, f)))) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file));
  }
}

describe('production start', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('npm ci --omit=dev && npm start from a clean copy runs the built server', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-prod-'));
    dirs.push(dir);
    const clone = join(dir, 'tandem');
    await copyRepository(clone);
    const env: NodeJS.ProcessEnv = { ...process.env, TANDEM_PORT: '0', TANDEM_DATA_DIR: join(dir, 'data'), TANDEM_PASSWORD_COST: '10', TANDEM_LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    delete env.NODE_OPTIONS; // vitest's loader hooks must not leak into the child
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: clone, env, maxBuffer: 16 * 1024 * 1024 });
    for (const devTool of ['tsx', 'wxt', 'vitest', 'typescript']) expect(existsSync(join(clone, 'node_modules', devTool)), `${devTool} is installed`).toBe(false);

    const server = spawn('npm', ['start'], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const output: string[] = [];
    const listening = new Promise<{ url: string; pid: number }>((resolve, reject) => {
      createInterface({ input: server.stderr }).on('line', (line) => {
        output.push(line);
        if (!line.startsWith('{')) return;
        const record = JSON.parse(line) as { event?: string; url?: string; pid?: number };
        if (record.event === 'server.listening' && record.url && record.pid) resolve({ url: record.url, pid: record.pid });
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before listening:\n${output.join('\n')}`)));
    });
    let serverPid = 0;
    try {
      const { url, pid } = await listening;
      serverPid = pid;
      expect(existsSync(join(clone, 'dist/main.js'))).toBe(true);
      expect(output).toContain('The extension packages are not built (that needs the dev dependencies: npm install && npm run build); the server runs without offering them.');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // The document page and its editor, built without dev dependencies.
      const page = await (await fetch(`${url}/d/${'a'.repeat(26)}`)).text();
      const script = /<script type="module" src="(\/assets\/editor-[\w-]+\.js)">/.exec(page)?.[1];
      expect(script).toBeDefined();
      expect((await fetch(`${url}${script}`)).status).toBe(200);

      // The admin CLI, built too, reaches the running server through the data folder.
      const { stdout } = await run('npm', ['run', 'admin', '--silent', '--', 'create-admin', '--email', 'ops@example.test', '--password', 'a long admin password'], { cwd: clone, env });
      expect(stdout).toMatch(/^created administrator ops@example\.test \([a-z2-7]+\)\n$/);
      const login = await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: url },
        body: JSON.stringify({ email: 'ops@example.test', password: 'a long admin password' }),
      });
      expect(login.status).toBe(200);

      process.kill(pid, 'SIGTERM');
      expect(await exited).toBe(0);
      expect(output.some((line) => line.includes('"event":"server.stopped"'))).toBe(true);
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        if (serverPid) process.kill(serverPid, 'SIGKILL');
        server.kill('SIGKILL');
      }
    }
  });
});

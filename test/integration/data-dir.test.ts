/**
 * The embedded data folder: one process at a time (a second server or CLI is refused, naming
 * the holder), owner-only modes, a crashed holder's lock taken over, and `npm run admin` run
 * inside the server that holds the folder, so nothing else ever writes it.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { LOCK_FILE } from '../../db/data-dir';
import { openDatabase } from '../../db/open-database';
import { ApiClient } from '../helpers/api-client';
import { spawnServer, type ServerProcess } from '../helpers/server-process';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

/** `npm run admin -- …` as an operator runs it, on `dataDir`. */
async function admin(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _url, ...env } = process.env;
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'server/admin-cli.ts', ...args], {
      cwd: ROOT,
      env: { ...env, TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file and folder under `dir` whose mode lets anyone but the owner in. */
async function openToOthers(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const paths = [dir, ...entries.map((e) => join(e.parentPath, e.name))];
  // A file may go between the listing and its stat (the lock is rewritten by rename once the server listens).
  const modes = await Promise.all(paths.map(async (p) => ({ p, mode: (await stat(p).catch(() => null))?.mode ?? 0 })));
  return modes.filter(({ mode }) => (mode & 0o077) !== 0).map(({ p, mode }) => `${p} ${(mode & 0o777).toString(8)}`);
}

const passwordOf = (stdout: string): string => /password \(shown once\): (\S+)/.exec(stdout)![1]!;

describe('the embedded data folder', () => {
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];

  /** A data folder seeded from the migrated template (a first start's initdb takes ~5 s). */
  const newDataDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-dd-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const loadDataDir = new Blob([await readFile(inject('pgliteTemplate'))]);
    await (await openDatabase({ kind: 'embedded', dataDir, loadDataDir })).close();
    return dataDir;
  };
  const start = async (dataDir: string): Promise<ServerProcess> => {
    const server = await spawnServer({ TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10' });
    servers.push(server);
    return server;
  };
  const stop = async (server: ServerProcess): Promise<void> => {
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  };

  afterEach(async () => {
    for (const s of servers.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('refuses a second server on the same folder, naming the one that holds it', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir);
    const { DATABASE_URL: _url, ...env } = process.env;
    const second = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: { ...env, TANDEM_DATA_DIR: dataDir, TANDEM_PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toContain(`the data directory ${dataDir} is in use by tandem server (pid ${first.child.pid} `);
    expect(stderr).toContain(`serving ${first.httpUrl}`);
    // The first server is untouched.
    expect((await fetch(`${first.httpUrl}/readyz`)).status).toBe(200);
  });

  it('keeps the folder its owner’s only, and fixes one an older version left open', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const server = await start(dataDir);
    expect(await openToOthers(dataDir)).toEqual([]);
    await stop(server);
    expect(await openToOthers(dataDir)).toEqual([]);
    // As earlier versions left it: 0666 files (PGlite's default) in a 0755 folder.
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, 'PG_VERSION'), 0o666);
    await writeFile(join(dataDir, 'left-by-an-older-version'), 'x', { mode: 0o666 });
    await chmod(join(dataDir, 'left-by-an-older-version'), 0o666);
    expect((await openToOthers(dataDir)).length).toBe(3);
    await stop(await start(dataDir));
    expect(await openToOthers(dataDir)).toEqual([]);
  });

  it('takes over the lock of a server that was killed', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const crashed = await start(dataDir);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect((await stat(join(dataDir, LOCK_FILE))).isFile()).toBe(true);
    const next = await start(dataDir);
    expect((await fetch(`${next.httpUrl}/readyz`)).status).toBe(200);
  });

  it('runs admin commands inside the running server; audited calls still work after a restart', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    let server = await start(dataDir);
    // The server writes audited rows first (the CLI used to see none of them and reuse their ids).
    const user = new ApiClient(server.httpUrl);
    const someone = (await user.post('/api/auth/signup', { email: 'someone@example.test', password: 'someone password' })).body.user;
    for (const [from, to] of [
      ['someone password', 'another password'],
      ['another password', 'a third password'],
    ]) {
      expect((await user.post('/api/me/password', { currentPassword: from, newPassword: to })).status).toBe(204);
    }
    const created = await admin(dataDir, 'create-admin', '--email', 'Boss@Example.test');
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/^created administrator boss@example\.test \([a-z2-7]+\)\npassword \(shown once\): \S{20}\n$/);
    const boss = new ApiClient(server.httpUrl);
    expect((await boss.post('/api/auth/login', { email: 'boss@example.test', password: passwordOf(created.stdout) })).status).toBe(200);
    // Audited admin calls (the CLI beside the server used to leave a duplicate audit-log key).
    expect((await boss.post(`/api/admin/users/${someone.id}/disable`)).status).toBe(200);
    await stop(server);
    server = await start(dataDir);
    const again = new ApiClient(server.httpUrl);
    expect((await again.post('/api/auth/login', { email: 'boss@example.test', password: passwordOf(created.stdout) })).status).toBe(200);
    expect((await again.post(`/api/admin/users/${someone.id}/enable`)).status).toBe(200);
    const audit = (await again.get('/api/admin/audit?targetType=user')).body.entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['user.password_changed', 'user.admin_created', 'user.disabled', 'user.enabled']));
  });

  it('create-admin --password sets the password of an existing account; reset-password sets one and ends sessions', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const server = await start(dataDir);
    const api = (): ApiClient => new ApiClient(server.httpUrl);
    const signIn = async (password: string): Promise<ApiClient | null> => {
      const client = api();
      return (await client.post('/api/auth/login', { email: 'ops@example.test', password })).status === 200 ? client : null;
    };
    expect((await api().post('/api/auth/signup', { email: 'ops@example.test', password: 'first password' })).status).toBe(201);
    const session = (await signIn('first password'))!;

    const promoted = await admin(dataDir, 'create-admin', '--email', 'ops@example.test', '--password', 'second password');
    expect(promoted.stdout).toMatch(/^updated administrator ops@example\.test \([a-z2-7]+\); password set, sessions ended\n$/);
    expect(await signIn('first password')).toBeNull();
    expect(await signIn('second password')).not.toBeNull();
    expect((await session.get('/api/me')).status).toBe(401);

    const reset = await admin(dataDir, 'reset-password', '--email', 'OPS@example.test');
    expect(reset.code).toBe(0);
    expect(await signIn('second password')).toBeNull();
    const after = (await signIn(passwordOf(reset.stdout)))!;
    expect((await after.get('/api/me')).body.user).toMatchObject({ email: 'ops@example.test', isAdmin: true });

    const chosen = await admin(dataDir, 'reset-password', '--email', 'ops@example.test', '--password', 'third password');
    expect([chosen.code, chosen.stdout]).toEqual([0, expect.stringMatching(/^password reset for ops@example\.test \([a-z2-7]+\); sessions ended\n$/)]);
    expect((await after.get('/api/me')).status).toBe(401);
    expect(await signIn('third password')).not.toBeNull();

    expect(await admin(dataDir, 'reset-password', '--email', 'nobody@example.test')).toMatchObject({ code: 1, stderr: 'refused (no_such_user): no account with the email nobody@example.test\n' });
    expect(await admin(dataDir, 'reset-password', '--email', 'ops@example.test', '--password', 'short')).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid_password') });
  });

  it('the CLI refuses a folder held by something that is not a server, naming it', { timeout: 120_000 }, async () => {
    const dataDir = await newDataDir();
    const held = await openDatabase({ kind: 'embedded', dataDir, role: 'a test holder' });
    try {
      const result = await admin(dataDir, 'create-admin', '--email', 'boss@example.test');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`refused: the data directory ${dataDir} is in use by a test holder (pid ${process.pid} `);
    } finally {
      await held.close();
    }
    // Released: the CLI now opens the folder itself.
    const direct = await admin(dataDir, 'create-admin', '--email', 'boss@example.test', '--password', 'boss password');
    expect(direct).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created administrator boss@example\.test/) });
  });
});

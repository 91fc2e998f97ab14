/**
 * The embedded database's data folder: one process at a time, readable by its owner only.
 *
 * Embedded Postgres (PGlite) has no postmaster: two processes that open one folder both write
 * it, and the second one's view of the first one's writes is stale (a CLI that ran beside the
 * server left a duplicate audit-log key that made the server answer 500 after a restart). So
 * whoever opens the folder first holds `tandem.lock` (created with O_EXCL), naming itself; a
 * second opener gets `DataDirLockedError` naming the holder. A lock whose process is gone
 * (crash, SIGKILL) is taken over, like Postgres's own postmaster.pid: the pid must be alive
 * and, on Linux, have the start time recorded in the lock (pids are reused).
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file's name inside the data folder. */
export const LOCK_FILE = 'tandem.lock';

/** Who holds a data folder: what the lock file says. */
export interface LockHolder {
  pid: number;
  host: string;
  /** `/proc/<pid>/stat` start time (clock ticks since boot), when the system has one. */
  procStart: string | null;
  startedAt: string;
  /** What the holder is: `tandem server`, `admin CLI`, … */
  role: string;
  /** Where the holder can be reached, once it says (the server's URL). */
  url?: string;
  /** A random value that tells this holder's lock from a later one's. */
  nonce: string;
}

/** Another live process holds the data folder. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'data_dir_locked';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const where = holder.url ? `, serving ${holder.url}` : '';
    super(
      `the data directory ${dataDir} is in use by ${holder.role} (pid ${holder.pid} on ${holder.host}${where}, since ${holder.startedAt}). ` +
        'Embedded Postgres allows one process at a time: stop it, or use another TANDEM_DATA_DIR' +
        (holder.host === hostname() ? '' : `; if that process is gone, delete ${join(dataDir, LOCK_FILE)}`),
    );
  }
}

/** A held lock on a data folder. */
export interface DataDirLock {
  readonly dataDir: string;
  readonly holder: Readonly<LockHolder>;
  /** Records where the holder can be reached (shown to the next process that tries). */
  describe(details: { url?: string }): Promise<void>;
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null; // no procfs (macOS) or no such process: liveness falls back to kill(pid, 0)
  }
}

function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = procStart(holder.pid);
  return holder.procStart === null || start === null || start === holder.procStart;
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockHolder;
  } catch {
    // Gone (ENOENT), or unreadable: nobody can be named, and the caller retries or takes over.
    return null;
  }
}

/** Creates the data folder (0700) if needed and takes its lock, or throws `DataDirLockedError`. */
export async function lockDataDir(dataDir: string, role: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const path = join(dataDir, LOCK_FILE);
  let holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    procStart: procStart(process.pid),
    startedAt: new Date().toISOString(),
    role,
    nonce: randomBytes(8).toString('hex'),
  };
  // Written in full under a private name, then linked into place: link() fails if the lock
  // exists, so nobody ever reads a half-written lock of a live holder.
  const draft = join(dataDir, `.${LOCK_FILE}.${process.pid}.${holder.nonce}`);
  await writeFile(draft, JSON.stringify(holder), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(draft, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      const current = await readHolder(path);
      if (current && (current.host !== holder.host || isAlive(current))) throw new DataDirLockedError(dataDir, current);
      // Stale (its process is gone) or unreadable: remove it and try again. Two processes doing
      // this at once both retry link(); only one of them gets the lock.
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  const ours = async (): Promise<boolean> => (await readHolder(path))?.nonce === holder.nonce;
  return {
    dataDir,
    get holder() {
      return holder;
    },
    async describe(details) {
      if (!(await ours())) return;
      holder = { ...holder, ...details };
      const next = `${path}.${holder.nonce}`;
      await writeFile(next, JSON.stringify(holder), { mode: 0o600 });
      await rename(next, path);
    },
    async release() {
      if (await ours()) await rm(path, { force: true });
    },
  };
}

/**
 * Makes everything in the data folder its owner's only: folders 0700, files 0600. Folders made
 * by earlier versions had 0666 files (PGlite's file system sets that mode itself); new files
 * get owner-only modes from the worker (pglite-worker.ts).
 */
export async function restrictDataDir(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o700);
  const entries = await readdir(dataDir, { recursive: true, withFileTypes: true });
  await Promise.all(
    entries.map((entry) => {
      const path = join(entry.parentPath, entry.name);
      if (entry.isDirectory()) return chmod(path, 0o700);
      if (entry.isFile()) return chmod(path, 0o600);
      return undefined; // sockets and links keep their own modes
    }),
  );
}

/**
 * The running server's door for `npm run admin` on embedded Postgres: a Unix socket in the data
 * folder (`admin.sock`). Only the folder's owner can reach it (the folder is 0700, the socket
 * 0600), which is the authentication: whoever can open the data folder can already read every
 * byte of the database. One JSON request per line, one JSON answer per line.
 */
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../logger';
import { AdminCommandError, parseAdminCommand, runAdminCommand, type AdminCommand, type AdminContext } from './commands';

/** The socket's name in the data folder. */
export const ADMIN_SOCKET = 'admin.sock';

/** Unix socket paths longer than this do not fit `sockaddr_un` on Linux (108) or macOS (104). */
const MAX_SOCKET_PATH = 100;

/** What the server answers: the lines to print, or a named refusal. */
export type AdminReply = { ok: true; lines: string[] } | { ok: false; code: string; message: string };

/** Largest request line accepted (a command is a few hundred bytes). */
const MAX_REQUEST_BYTES = 16 * 1024;

export function adminSocketPath(dataDir: string): string | null {
  const path = join(dataDir, ADMIN_SOCKET);
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH ? path : null;
}

/** Listens on the data folder's admin socket; resolves with a close function (null when the path is too long). */
export async function serveAdminSocket(dataDir: string, ctx: AdminContext, log: Logger): Promise<(() => Promise<void>) | null> {
  const path = adminSocketPath(dataDir);
  if (!path) {
    log.warn('admin.socket_path_too_long', { dataDir, note: 'npm run admin will refuse while the server runs' });
    return null;
  }
  // A socket file left by a process that died; we hold the folder's lock, so it is not live.
  await rm(path, { force: true });
  const server: Server = createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', (error) => log.warn('admin.socket_error', { error }));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const end = buffered.indexOf('\n');
      if (end === -1) return;
      socket.pause();
      void answer(buffered.slice(0, end)).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  });
  const answer = async (line: string): Promise<AdminReply> => {
    try {
      const command = parseAdminCommand(JSON.parse(line));
      const lines = await runAdminCommand(ctx, command);
      log.info('admin.command', { command: command.name, email: command.email });
      return { ok: true, lines };
    } catch (error) {
      if (error instanceof AdminCommandError) return { ok: false, code: error.code, message: error.message };
      if (error instanceof SyntaxError) return { ok: false, code: 'invalid_command', message: 'not JSON' };
      log.error('admin.command_failed', { error });
      return { ok: false, code: 'internal_error', message: 'the server failed to run the command (see its log)' };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(path, { force: true });
  };
}

/**
 * Sends a command to the server holding `dataDir`; resolves with its reply, or null when no
 * server answers there (no socket, or nobody listening on it).
 */
export function callAdminSocket(dataDir: string, command: AdminCommand): Promise<AdminReply | null> {
  const path = adminSocketPath(dataDir);
  if (!path) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let received = '';
    let connected = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(command)}\n`);
    });
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => {
      try {
        resolve(JSON.parse(received) as AdminReply);
      } catch (error) {
        reject(new Error(`the server's admin socket answered something unreadable: ${received.slice(0, 200)}`, { cause: error }));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Nothing listening: no server, or one that died and left its socket file.
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) resolve(null);
      else reject(error);
    });
  });
}

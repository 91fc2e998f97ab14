/**
 * Where a generated administrator password goes: never into the log, which is shipped to log
 * stores and read by people who must not sign in as admin. On a terminal it is printed there
 * (the person starting the server sees it once); otherwise it is written to a file only the
 * server's user can read, and the log says where.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type PasswordReveal = { kind: 'terminal' } | { kind: 'file'; path: string };

export const ADMIN_PASSWORD_FILE = 'admin-password.txt';

export async function revealGeneratedPassword(options: {
  email: string;
  password: string;
  /** A writable terminal, or null when there is none (a service, a container, CI). */
  terminal: NodeJS.WritableStream | null;
  dataDir: string;
}): Promise<PasswordReveal> {
  const text = `Tandem administrator ${options.email}: password ${options.password}\nShown once: sign in and change it at /account.\n`;
  if (options.terminal) {
    options.terminal.write(text);
    return { kind: 'terminal' };
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const path = join(options.dataDir, ADMIN_PASSWORD_FILE);
  // 0600 at creation (not chmod after): there is no moment when others can read it.
  await writeFile(path, text, { mode: 0o600, flag: 'w' });
  return { kind: 'file', path };
}

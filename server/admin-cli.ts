/**
 * `npm run admin -- <command>`: administration from the command line, on the database the
 * environment names (the same variables as `npm start`).
 *
 *   create-admin --email <address> [--password <password>]
 *       Makes the account an administrator, creating it if needed (with a generated password,
 *       printed once, unless one is given). On an existing account, --password sets it.
 *   reset-password --email <address> [--password <password>]
 *       Sets the account's password (generated and printed once unless given) and ends its
 *       sessions.
 *
 * On embedded Postgres only one process may open the data folder: while the server runs, the
 * command is sent to it over its admin socket (server/admin/admin-socket.ts) and runs there;
 * if something else holds the folder, the CLI refuses and names it.
 */
import { parseArgs } from 'node:util';
import { DataDirLockedError } from '../db/data-dir';
import { openDatabase } from '../db/open-database';
import { AccountService } from './access/accounts';
import { callAdminSocket } from './admin/admin-socket';
import { ADMIN_COMMANDS, AdminCommandError, runAdminCommand, type AdminCommand } from './admin/commands';
import { LocalAccessEventBus } from './auth/access-events';
import { AccessTokenService } from './auth/access-tokens';
import { LoginThrottle, SignUpThrottle } from './auth/login-throttle';
import { PasswordHasher } from './auth/password-hasher';
import { SessionService } from './auth/sessions';
import { ConfigError, readConfig } from './config';
import { createLogger } from './logger';

const USAGE = `usage: npm run admin -- create-admin --email <address> [--password <password>]
       npm run admin -- reset-password --email <address> [--password <password>]
`;

function parseCommand(argv: string[]): AdminCommand | null {
  const [name, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, password: { type: 'string' } } });
  if (!ADMIN_COMMANDS.includes(name as AdminCommand['name']) || !values.email) return null;
  return { name: name as AdminCommand['name'], email: values.email, password: values.password ?? null };
}

async function main(): Promise<number> {
  let command: AdminCommand | null;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    command = null;
  }
  if (!command) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = readConfig();
  if (config.database.kind === 'embedded') {
    const reply = await callAdminSocket(config.database.dataDir, command);
    if (reply) {
      if (!reply.ok) {
        process.stderr.write(`refused (${reply.code}): ${reply.message}\n`);
        return 1;
      }
      process.stdout.write(`${reply.lines.join('\n')}\n`);
      return 0;
    }
  }
  const database = await openDatabase(
    config.database.kind === 'postgres' ? { kind: 'postgres', url: config.database.url } : { kind: 'embedded', dataDir: config.database.dataDir, role: 'the admin CLI' },
  );
  try {
    const events = new LocalAccessEventBus();
    const accounts = new AccountService({
      db: database.db,
      sessions: new SessionService(database.db, events),
      tokens: new AccessTokenService(database.db, events),
      throttle: new LoginThrottle(database.db),
      signUps: new SignUpThrottle(database.db, config.auth.signUpsPerAddressPerHour),
      events,
      hasher: new PasswordHasher({ cost: { log2N: config.auth.passwordCost, r: 8, p: 1 }, concurrency: 1, maxQueued: 1 }),
      log: createLogger(config.logLevel),
    });
    const lines = await runAdminCommand({ db: database.db, accounts }, command);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DataDirLockedError) {
      process.stderr.write(`refused: ${error.message} (it did not answer on the folder's admin socket)\n`);
    } else if (error instanceof AdminCommandError) {
      process.stderr.write(`refused (${error.code}): ${error.message}\n`);
    } else {
      process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  },
);

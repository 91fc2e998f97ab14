/**
 * `npm run admin -- <command>`: administration from the command line, on the database the
 * environment names (the same variables as `npm start`).
 *
 *   create-admin --email <address> [--password <password>]
 *       Makes the account an administrator, creating it if needed (with a generated password,
 *       printed once, unless one is given).
 *
 * With embedded Postgres, run it while the server is stopped (embedded Postgres allows one
 * process at a time), or set TANDEM_ADMIN_EMAIL for the server's next start instead.
 */
import { parseArgs } from 'node:util';
import { openDatabase } from '../db/open-database';
import { AccountService } from './access/accounts';
import { LocalAccessEventBus } from './auth/access-events';
import { LoginThrottle } from './auth/login-throttle';
import { SessionService } from './auth/sessions';
import { ConfigError, readConfig } from './config';

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({ args: rest, options: { email: { type: 'string' }, password: { type: 'string' } } });
  if (command !== 'create-admin' || !values.email) {
    process.stderr.write('usage: npm run admin -- create-admin --email <address> [--password <password>]\n');
    return 2;
  }
  const config = readConfig();
  const database = await openDatabase(
    config.database.kind === 'postgres' ? { kind: 'postgres', url: config.database.url } : { kind: 'embedded', dataDir: config.database.dataDir },
  );
  try {
    const events = new LocalAccessEventBus();
    const accounts = new AccountService({
      db: database.db,
      sessions: new SessionService(database.db, events),
      throttle: new LoginThrottle(database.db),
      events,
      cost: { log2N: config.auth.passwordCost, r: 8, p: 1 },
    });
    const { user, generatedPassword, created } = await accounts.ensureAdmin(values.email, values.password ?? null);
    process.stdout.write(`${created ? 'created' : 'updated'} administrator ${user.email} (${user.id})\n`);
    if (generatedPassword) process.stdout.write(`password (shown once): ${generatedPassword}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/**
 * What `npm run admin` can do, run either in the CLI's own process (on Postgres, or on an
 * embedded data folder nobody holds) or inside the running server that holds the folder
 * (admin-socket.ts). Results are lines for the operator; a generated password is in them once
 * and is never logged.
 */
import { findUserByEmail } from '../../db/repositories/users';
import * as schema from '../../shared/api';
import type { AccountService } from '../access/accounts';
import { passwordProblem } from '../auth/password-policy';
import { randomSecret } from '../auth/secrets';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';

/** One command, as the CLI parsed it. */
export type AdminCommand = { name: 'create-admin'; email: string; password: string | null } | { name: 'reset-password'; email: string; password: string | null };

export const ADMIN_COMMANDS = ['create-admin', 'reset-password'] as const satisfies readonly AdminCommand['name'][];

/** Why a command was refused. */
export type AdminErrorCode = 'no_such_user' | 'invalid_password' | 'invalid_command';

export class AdminCommandError extends Error {
  override readonly name = 'AdminCommandError';
  constructor(
    readonly code: AdminErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminContext {
  db: Kysely<Database>;
  accounts: AccountService;
}

/** The password to set: the given one if the server would accept it at sign-up, else a generated one. */
function choosePassword(given: string | null, email: string): { password: string; generated: boolean } {
  if (given === null) return { password: randomSecret(12), generated: true };
  if (!schema.password.safeParse(given).success) throw new AdminCommandError('invalid_password', 'the password must be 8 to 1024 characters');
  const problem = passwordProblem(given, email);
  if (problem) throw new AdminCommandError('invalid_password', problem);
  return { password: given, generated: false };
}

/** Checks a command that arrived as data (over the admin socket). */
export function parseAdminCommand(value: unknown): AdminCommand {
  const v = value as Partial<Record<'name' | 'email' | 'password', unknown>> | null;
  const email = schema.email.safeParse(v?.email);
  const password = v?.password === null || typeof v?.password === 'string' ? v.password : undefined;
  if (!v || !ADMIN_COMMANDS.includes(v.name as AdminCommand['name']) || !email.success || password === undefined) {
    throw new AdminCommandError('invalid_command', 'expected {name, email, password}');
  }
  return { name: v.name as AdminCommand['name'], email: email.data, password };
}

/** Runs one command; resolves with the lines to show, or throws `AdminCommandError`. */
export async function runAdminCommand(ctx: AdminContext, command: AdminCommand): Promise<string[]> {
  switch (command.name) {
    case 'create-admin': {
      const chosen = command.password === null ? null : choosePassword(command.password, command.email);
      const { user, generatedPassword, created } = await ctx.accounts.ensureAdmin(command.email, chosen?.password ?? null);
      // An existing account keeps its password unless one is given; then it is set (and its sessions end).
      if (!created && chosen) await ctx.accounts.resetPassword(null, user.id, chosen.password);
      const lines = [`${created ? 'created' : 'updated'} administrator ${user.email} (${user.id})${!created && chosen ? '; password set, sessions ended' : ''}`];
      if (generatedPassword) lines.push(`password (shown once): ${generatedPassword}`);
      return lines;
    }
    case 'reset-password': {
      const user = await findUserByEmail(ctx.db, command.email.toLowerCase());
      if (!user) throw new AdminCommandError('no_such_user', `no account with the email ${command.email}`);
      const { password, generated } = choosePassword(command.password, user.email);
      await ctx.accounts.resetPassword(null, user.id, password);
      return [`password reset for ${user.email} (${user.id}); sessions ended`, ...(generated ? [`password (shown once): ${password}`] : [])];
    }
  }
}

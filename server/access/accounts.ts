/** Accounts: sign-up, sign-in, passwords, and what administrators do to accounts. */
import type { Kysely } from 'kysely';
import { recordAudit } from '../../db/repositories/audit';
import { countAdmins, findUserByEmail, findUserById, insertUser, setPasswordHash } from '../../db/repositories/users';
import type { Database } from '../../db/schema';
import type { UserRow } from '../../db/tables/users';
import type { AccessEventBus } from '../auth/access-events';
import type { LoginThrottle } from '../auth/login-throttle';
import { decoyHash, hashPassword, verifyPassword, type ScryptCost } from '../auth/passwords';
import type { UserInfo } from '../auth/principal';
import { randomSecret } from '../auth/secrets';
import { toUserInfo, type SessionService } from '../auth/sessions';
import { HttpError } from '../http/http-error';

export interface AccountDeps {
  db: Kysely<Database>;
  sessions: SessionService;
  throttle: LoginThrottle;
  events: AccessEventBus;
  cost: ScryptCost;
}

/** The one answer to every failed sign-in, whether the account exists or not. */
const BAD_CREDENTIALS = new HttpError(401, 'invalid_credentials', 'wrong email or password');

export interface AdminUserView extends UserInfo {
  disabled: boolean;
  createdAt: string;
}

export function adminUserView(row: UserRow): AdminUserView {
  return { ...toUserInfo(row), disabled: row.disabled_at !== null, createdAt: row.created_at.toISOString() };
}

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  async signUp(input: { email: string; password: string; displayName: string }): Promise<UserRow> {
    const email = input.email.toLowerCase();
    const passwordHash = await hashPassword(input.password, this.deps.cost);
    try {
      return await insertUser(this.deps.db, { id: randomSecret(10), email, displayName: input.displayName, passwordHash });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new HttpError(409, 'email_taken', 'an account with this email exists');
      throw error;
    }
  }

  /** Checks credentials (throttled); on success starts a session. */
  async signIn(input: { email: string; password: string; ip: string; userAgent?: string | undefined }): Promise<{ user: UserRow; token: string; expiresAt: Date }> {
    const email = input.email.toLowerCase();
    const wait = await this.deps.throttle.retryAfter(email, input.ip);
    if (wait > 0) {
      const error = new HttpError(429, 'too_many_attempts', `too many failed sign-ins; try again in ${wait} s`);
      (error as HttpError & { retryAfter: number }).retryAfter = wait;
      throw error;
    }
    const user = await findUserByEmail(this.deps.db, email);
    // Hash against a decoy when there is no such account, so both cases take as long.
    const { ok, rehash } = await verifyPassword(user?.password_hash ?? (await decoyHash(this.deps.cost)), input.password, this.deps.cost);
    if (!user || !ok || user.disabled_at) {
      await this.deps.throttle.recordFailure(email, input.ip);
      throw BAD_CREDENTIALS;
    }
    await this.deps.throttle.recordSuccess(email);
    if (rehash) await setPasswordHash(this.deps.db, user.id, await hashPassword(input.password, this.deps.cost));
    const { token, session } = await this.deps.sessions.create(user.id, { ip: input.ip, userAgent: input.userAgent });
    return { user, token, expiresAt: session.expiresAt };
  }

  /** Changes a password and ends every other session of the account. */
  async changePassword(userId: string, current: string, next: string, keepSessionId: string | null): Promise<void> {
    const user = await findUserById(this.deps.db, userId);
    if (!user || !(await verifyPassword(user.password_hash, current, this.deps.cost)).ok) {
      throw new HttpError(403, 'invalid_credentials', 'the current password is wrong');
    }
    await setPasswordHash(this.deps.db, userId, await hashPassword(next, this.deps.cost));
    await this.deps.sessions.revokeAll(userId, keepSessionId ?? undefined);
    await recordAudit(this.deps.db, { actorId: userId, action: 'user.password_changed', targetType: 'user', targetId: userId });
  }

  async setDisabled(actorId: string | null, userId: string, disabled: boolean): Promise<UserRow> {
    const row = await this.deps.db
      .updateTable('users')
      .set({ disabled_at: disabled ? new Date() : null })
      .where('id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new HttpError(404, 'not_found', 'no such user');
    if (disabled) {
      await this.deps.sessions.revokeAll(userId);
      this.deps.events.publish({ type: 'user_revoked', userId });
    }
    await recordAudit(this.deps.db, { actorId, action: disabled ? 'user.disabled' : 'user.enabled', targetType: 'user', targetId: userId });
    return row;
  }

  async setAdmin(actorId: string | null, userId: string, isAdmin: boolean): Promise<UserRow> {
    if (!isAdmin && (await countAdmins(this.deps.db)) <= 1) {
      const target = await findUserById(this.deps.db, userId);
      if (target?.is_admin) throw new HttpError(409, 'last_admin', 'the last administrator cannot lose the role');
    }
    const row = await this.deps.db.updateTable('users').set({ is_admin: isAdmin }).where('id', '=', userId).returningAll().executeTakeFirst();
    if (!row) throw new HttpError(404, 'not_found', 'no such user');
    // Cached validations carry the role: drop them.
    this.deps.events.publish({ type: 'user_revoked', userId });
    await recordAudit(this.deps.db, { actorId, action: isAdmin ? 'user.admin_granted' : 'user.admin_revoked', targetType: 'user', targetId: userId });
    return row;
  }

  /**
   * Deletes an account: its sessions, tokens and memberships go; documents it owned are
   * soft-deleted (restorable by an admin for 30 days).
   */
  async deleteUser(actorId: string | null, userId: string): Promise<void> {
    const target = await findUserById(this.deps.db, userId);
    if (!target) throw new HttpError(404, 'not_found', 'no such user');
    if (target.is_admin && (await countAdmins(this.deps.db)) <= 1) throw new HttpError(409, 'last_admin', 'the last administrator cannot be deleted');
    const owned = await this.deps.db.transaction().execute(async (trx) => {
      const docs = await trx
        .updateTable('documents')
        .set({ deleted_at: new Date() })
        .where('owner_id', '=', userId)
        .where('deleted_at', 'is', null)
        .returning('id')
        .execute();
      await trx.deleteFrom('users').where('id', '=', userId).execute();
      await recordAudit(trx, { actorId, action: 'user.deleted', targetType: 'user', targetId: userId, details: { email: target.email, documents: docs.length } });
      return docs;
    });
    this.deps.events.publish({ type: 'user_revoked', userId });
    for (const { id } of owned) this.deps.events.publish({ type: 'document_access_changed', docId: id });
  }

  /**
   * Makes sure `email` is an administrator: creates the account when missing (with `password`,
   * or a generated one that is returned so it can be shown once).
   */
  async ensureAdmin(email: string, password: string | null): Promise<{ user: UserRow; generatedPassword: string | null; created: boolean }> {
    const existing = await findUserByEmail(this.deps.db, email.toLowerCase());
    if (existing) {
      const user = existing.is_admin ? existing : await this.setAdmin(null, existing.id, true);
      return { user, generatedPassword: null, created: false };
    }
    const generatedPassword = password ? null : randomSecret(12);
    const user = await insertUser(this.deps.db, {
      id: randomSecret(10),
      email: email.toLowerCase(),
      displayName: email.split('@')[0] ?? 'admin',
      passwordHash: await hashPassword(password ?? generatedPassword!, this.deps.cost),
      isAdmin: true,
    });
    await recordAudit(this.deps.db, { actorId: null, action: 'user.admin_created', targetType: 'user', targetId: user.id, details: { email: user.email } });
    return { user, generatedPassword, created: true };
  }
}

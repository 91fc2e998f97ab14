/** Accounts: sign-up, sign-in, passwords, and what administrators do to accounts. */
import type { Kysely } from 'kysely';
import { recordAudit } from '../../db/repositories/audit';
import { softDeleteOwnedDocuments } from '../../db/repositories/documents';
import { countAdmins, deleteUser, findUserByEmail, findUserById, insertUser, setPasswordHash, setUserAdmin, setUserDisabled } from '../../db/repositories/users';
import type { Database } from '../../db/schema';
import type { UserRow } from '../../db/tables/users';
import type { AccessEventBus } from '../auth/access-events';
import type { AccessTokenService } from '../auth/access-tokens';
import { ACCOUNT_ALERT_FAILURES, type LoginThrottle, type SignUpThrottle } from '../auth/login-throttle';
import type { PasswordHasher } from '../auth/password-hasher';
import { assertPasswordAllowed } from '../auth/password-policy';
import type { UserInfo } from '../auth/principal';
import { randomSecret } from '../auth/secrets';
import { toUserInfo, type SessionService } from '../auth/sessions';
import { DomainError } from '../errors';
import type { Logger } from '../logger';

export interface AccountDeps {
  db: Kysely<Database>;
  sessions: SessionService;
  tokens: AccessTokenService;
  throttle: LoginThrottle;
  signUps: SignUpThrottle;
  events: AccessEventBus;
  hasher: PasswordHasher;
  log: Logger;
  /** Counts refused sign-ins and password checks by reason (metrics). */
  onAuthFailure?: (reason: SignInFailure) => void;
}

/** Why a sign-in (or a password change's check of the current password) failed. */
export type SignInFailure = 'unknown_account' | 'wrong_password' | 'disabled_account' | 'sign_in_throttled' | 'wrong_current_password';

/** The one answer to every failed sign-in, whether the account exists or not. */
const BAD_CREDENTIALS = new DomainError('invalid_credentials', 'wrong email or password');

export interface AdminUserView extends UserInfo {
  disabled: boolean;
  createdAt: string;
}

export function adminUserView(row: UserRow): AdminUserView {
  return { ...toUserInfo(row), disabled: row.disabled_at !== null, createdAt: row.created_at.toISOString() };
}

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  /** Someone signs up from `ip` (throttled per address; the route checks TANDEM_SIGNUP). */
  async signUp(input: { email: string; password: string; displayName: string; ip: string }): Promise<UserRow> {
    const wait = await this.deps.signUps.take(input.ip);
    if (wait > 0) throw new DomainError('too_many_signups', `too many accounts created from this address; try again in ${wait} s`, wait);
    return this.createAccount({ ...input, isAdmin: false });
  }

  /** An administrator creates an account (also when sign-up is closed). */
  async createUser(actorId: string, input: { email: string; password: string; displayName: string }): Promise<UserRow> {
    const user = await this.createAccount({ ...input, isAdmin: false });
    await recordAudit(this.deps.db, { actorId, action: 'user.created', targetType: 'user', targetId: user.id, details: { email: user.email } });
    return user;
  }

  private async createAccount(input: { email: string; password: string; displayName: string; isAdmin: boolean }): Promise<UserRow> {
    const email = input.email.toLowerCase();
    assertPasswordAllowed(input.password, email);
    const passwordHash = await this.deps.hasher.hash(input.password, 'sign_up');
    try {
      return await insertUser(this.deps.db, { id: randomSecret(10), email, displayName: input.displayName, passwordHash, isAdmin: input.isAdmin });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new DomainError('email_taken', 'an account with this email exists');
      throw error;
    }
  }

  /** Checks credentials (throttled); on success starts a session. */
  async signIn(input: { email: string; password: string; ip: string; userAgent?: string | undefined }): Promise<{ user: UserRow; token: string; expiresAt: Date }> {
    const email = input.email.toLowerCase();
    const attempt = await this.deps.throttle.attempt(email, input.ip);
    if (!attempt.ok) {
      this.signInFailed('sign_in_throttled', email, input.ip);
      throw new DomainError('too_many_attempts', `too many failed sign-ins; try again in ${attempt.retryAfter} s`, attempt.retryAfter);
    }
    const user = await findUserByEmail(this.deps.db, email);
    // Hash against a decoy when there is no such account, so both cases take as long.
    let checked: { ok: boolean; rehash: boolean };
    try {
      checked = await this.deps.hasher.verify(user?.password_hash ?? (await this.deps.hasher.decoy()), input.password, 'sign_in');
    } catch (error) {
      await this.deps.throttle.cancel(email, input.ip); // not checked (busy): not a guess
      throw error;
    }
    if (!user || !checked.ok || user.disabled_at) {
      this.signInFailed(!user ? 'unknown_account' : !checked.ok ? 'wrong_password' : 'disabled_account', email, input.ip);
      const failures = await this.deps.throttle.failed(email);
      if (failures === ACCOUNT_ALERT_FAILURES) this.deps.log.warn('auth.account_attacked', { email, failures, windowMinutes: 15 });
      throw BAD_CREDENTIALS;
    }
    await this.deps.throttle.succeeded(email, input.ip);
    if (checked.rehash) await setPasswordHash(this.deps.db, user.id, await this.deps.hasher.hash(input.password, 'sign_in'));
    const { token, session } = await this.deps.sessions.create(user.id, { ip: input.ip, userAgent: input.userAgent });
    return { user, token, expiresAt: session.expiresAt };
  }

  /** Logs and counts a refused sign-in: why, for which email, from which address (never the password). */
  private signInFailed(reason: SignInFailure, email: string, address: string): void {
    this.deps.log.info('auth.sign_in_failed', { reason, email, address });
    this.deps.onAuthFailure?.(reason);
  }

  /**
   * Changes a password and ends every other session of the account; with `revokeTokens`, its
   * personal access tokens too. Tokens are not revoked by default: a password change is also
   * routine hygiene, and silently breaking every script of the account would surprise. Someone
   * who changes it because it leaked should tick the box (the account page says so).
   */
  async changePassword(userId: string, current: string, next: string, keepSessionId: string | null, revokeTokens = false): Promise<void> {
    const user = await findUserById(this.deps.db, userId);
    if (!user || !(await this.deps.hasher.verify(user.password_hash, current)).ok) {
      this.deps.onAuthFailure?.('wrong_current_password');
      throw new DomainError('wrong_current_password', 'the current password is wrong');
    }
    assertPasswordAllowed(next, user.email);
    await setPasswordHash(this.deps.db, userId, await this.deps.hasher.hash(next, 'sign_in'));
    await this.deps.sessions.revokeAll(userId, keepSessionId ?? undefined);
    const tokens = revokeTokens ? await this.deps.tokens.revokeAll(userId) : 0;
    await recordAudit(this.deps.db, { actorId: userId, action: 'user.password_changed', targetType: 'user', targetId: userId, details: { tokensRevoked: tokens } });
  }

  async setDisabled(actorId: string | null, userId: string, disabled: boolean): Promise<UserRow> {
    const row = await setUserDisabled(this.deps.db, userId, disabled);
    if (!row) throw new DomainError('not_found', 'no such user');
    // Disabling ends every credential for good: sessions and tokens are deleted, not suspended,
    // so enabling the account again restores none of them (the person signs in again and makes
    // new tokens). Before, tokens were only refused while disabled and came back on enable.
    if (disabled) {
      await this.deps.sessions.revokeAll(userId);
      await this.deps.tokens.revokeAll(userId);
      this.deps.events.publish({ type: 'user_revoked', userId });
    }
    await recordAudit(this.deps.db, { actorId, action: disabled ? 'user.disabled' : 'user.enabled', targetType: 'user', targetId: userId });
    return row;
  }

  async setAdmin(actorId: string | null, userId: string, isAdmin: boolean): Promise<UserRow> {
    if (!isAdmin && (await countAdmins(this.deps.db)) <= 1) {
      const target = await findUserById(this.deps.db, userId);
      if (target?.is_admin) throw new DomainError('last_admin', 'the last administrator cannot lose the role');
    }
    const row = await setUserAdmin(this.deps.db, userId, isAdmin);
    if (!row) throw new DomainError('not_found', 'no such user');
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
    if (!target) throw new DomainError('not_found', 'no such user');
    if (target.is_admin && (await countAdmins(this.deps.db)) <= 1) throw new DomainError('last_admin', 'the last administrator cannot be deleted');
    const owned = await this.deps.db.transaction().execute(async (trx) => {
      const docs = await softDeleteOwnedDocuments(trx, userId);
      await deleteUser(trx, userId);
      await recordAudit(trx, { actorId, action: 'user.deleted', targetType: 'user', targetId: userId, details: { email: target.email, documents: docs.length } });
      return docs;
    });
    this.deps.events.publish({ type: 'user_revoked', userId });
    for (const id of owned) this.deps.events.publish({ type: 'document_access_changed', docId: id });
  }

  /**
   * Sets a password without knowing the old one (an operator's reset): every session of the
   * account ends, its sockets close. Personal access tokens stay (revoke them in the admin API).
   */
  async resetPassword(actorId: string | null, userId: string, password: string): Promise<void> {
    await setPasswordHash(this.deps.db, userId, await this.deps.hasher.hash(password, 'sign_in'));
    await this.deps.sessions.revokeAll(userId);
    await recordAudit(this.deps.db, { actorId, action: 'user.password_reset', targetType: 'user', targetId: userId });
  }

  /**
   * Makes sure `email` is an administrator: creates the account when missing (with `password`,
   * or a generated one that is returned so it can be shown once). An existing account keeps
   * its password (the server calls this at every start with TANDEM_ADMIN_PASSWORD).
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
      passwordHash: await this.deps.hasher.hash(password ?? generatedPassword!, 'sign_up'),
      isAdmin: true,
    });
    await recordAudit(this.deps.db, { actorId: null, action: 'user.admin_created', targetType: 'user', targetId: user.id, details: { email: user.email } });
    return { user, generatedPassword, created: true };
  }
}

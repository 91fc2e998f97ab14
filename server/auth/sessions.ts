/**
 * Sign-in sessions, following the Lucia guide: a random token goes to the browser in an
 * HttpOnly cookie, only its SHA-256 is stored, expiry slides forward while the session is used.
 *
 * Validation is on every request and every socket, so results are cached in memory for a few
 * seconds. Revocation still takes effect at once: every revocation goes through
 * `AccessEventBus`, which drops the cached entry (on every node, once the bus spans nodes) and
 * closes the sockets that used the session.
 */
import type { Kysely } from 'kysely';
import { deleteSession, deleteUserSessions, findSessionWithUser, insertSession, listLiveSessions, setSessionExpiry } from '../../db/repositories/sessions';
import type { Database } from '../../db/schema';
import type { UserRow } from '../../db/tables/users';
import type { AccessEventBus } from './access-events';
import type { UserInfo } from './principal';
import { hashSecret, randomSecret } from './secrets';

/** Sessions last 30 days and are pushed back to 30 days when used in their last 15. */
export const SESSION_LIFETIME_MS = 30 * 24 * 3600 * 1000;
/**
 * However much it is used, a session ends this long after sign-in (TANDEM_SESSION_MAX_DAYS):
 * a stolen cookie cannot be kept alive forever by using it.
 */
export const DEFAULT_SESSION_MAX_AGE_MS = 90 * 24 * 3600 * 1000;
const RENEW_WHEN_LEFT_MS = 15 * 24 * 3600 * 1000;
/** How long a validation result may be reused. Revocations evict entries explicitly. */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX_ENTRIES = 50_000;

export interface SessionInfo {
  id: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

export interface ValidSession {
  session: SessionInfo;
  user: UserInfo;
}

export function toUserInfo(row: UserRow): UserInfo {
  return { id: row.id, email: row.email, displayName: row.display_name, isAdmin: row.is_admin };
}

export class SessionService {
  private readonly cache = new Map<string, { value: ValidSession; until: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: AccessEventBus,
    private readonly maxAgeMs = DEFAULT_SESSION_MAX_AGE_MS,
  ) {
    events.subscribe((event) => {
      if (event.type === 'session_revoked') this.cache.delete(event.sessionId);
      else if (event.type === 'user_revoked') {
        for (const [id, entry] of this.cache) if (entry.value.user.id === event.userId) this.cache.delete(id);
      }
    });
  }

  /** Starts a session; the token goes in the cookie and nowhere else. */
  async create(userId: string, meta: { userAgent?: string | undefined; ip?: string | undefined }): Promise<{ token: string; session: SessionInfo }> {
    const token = randomSecret();
    const row = await insertSession(this.db, {
      id: hashSecret(token),
      userId,
      expiresAt: new Date(Date.now() + Math.min(SESSION_LIFETIME_MS, this.maxAgeMs)),
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
      ip: meta.ip ?? null,
    });
    return { token, session: toSessionInfo(row) };
  }

  /** The session and user behind a cookie token, or null (unknown, expired, user disabled). */
  async validateToken(token: string): Promise<ValidSession | null> {
    if (!/^[a-z2-7]{32}$/.test(token)) return null;
    return this.validateId(hashSecret(token));
  }

  /** Same, by session id (used after redeeming a sync ticket). */
  async validateId(sessionId: string): Promise<ValidSession | null> {
    const now = Date.now();
    const cached = this.cache.get(sessionId);
    if (cached && cached.until > now && cached.value.session.expiresAt.getTime() > now && this.within(cached.value.session.createdAt, now)) return cached.value;
    this.cache.delete(sessionId);

    const row = await findSessionWithUser(this.db, sessionId);
    if (!row || row.disabled_at) return null;
    if (row.expires_at.getTime() <= now || !this.within(row.created_at, now)) {
      await deleteSession(this.db, sessionId);
      return null;
    }
    let expiresAt = row.expires_at;
    const renewed = new Date(Math.min(now + SESSION_LIFETIME_MS, row.created_at.getTime() + this.maxAgeMs));
    // Near the absolute end the renewal stops moving it: no write then.
    if (expiresAt.getTime() - now < RENEW_WHEN_LEFT_MS && renewed.getTime() > expiresAt.getTime()) {
      expiresAt = renewed;
      await setSessionExpiry(this.db, sessionId, expiresAt);
    }
    const value: ValidSession = {
      session: { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt, userAgent: row.user_agent, ip: row.ip },
      user: { id: row.user_id, email: row.email, displayName: row.display_name, isAdmin: row.is_admin },
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(sessionId, { value, until: now + CACHE_TTL_MS });
    return value;
  }

  /** True while a session started at `createdAt` is within its absolute lifetime. */
  private within(createdAt: Date, now: number): boolean {
    return createdAt.getTime() + this.maxAgeMs > now;
  }

  async list(userId: string): Promise<SessionInfo[]> {
    return (await listLiveSessions(this.db, userId)).map(toSessionInfo);
  }

  /** Ends one session (of `userId`, when given). Returns false when there was none. */
  async revoke(sessionId: string, userId?: string): Promise<boolean> {
    if ((await deleteSession(this.db, sessionId, userId)) === 0) return false;
    this.events.publish({ type: 'session_revoked', sessionId });
    return true;
  }

  /** Ends every session of a user except `keep`. */
  async revokeAll(userId: string, keep?: string): Promise<number> {
    const ids = await deleteUserSessions(this.db, userId, keep);
    for (const id of ids) this.events.publish({ type: 'session_revoked', sessionId: id });
    return ids.length;
  }
}

function toSessionInfo(row: { id: string; user_id: string; created_at: Date; expires_at: Date; user_agent: string | null; ip: string | null }): SessionInfo {
  return { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at, userAgent: row.user_agent, ip: row.ip };
}

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
import type { Database } from '../../db/schema';
import type { UserRow } from '../../db/tables/users';
import type { AccessEventBus } from './access-events';
import type { UserInfo } from './principal';
import { hashSecret, randomSecret } from './secrets';

/** Sessions last 30 days and are pushed back to 30 days when used in their last 15. */
export const SESSION_LIFETIME_MS = 30 * 24 * 3600 * 1000;
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
    const row = await this.db
      .insertInto('sessions')
      .values({
        id: hashSecret(token),
        user_id: userId,
        expires_at: new Date(Date.now() + SESSION_LIFETIME_MS),
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
        ip: meta.ip ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
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
    if (cached && cached.until > now && cached.value.session.expiresAt.getTime() > now) return cached.value;
    this.cache.delete(sessionId);

    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id',
        'sessions.user_id',
        'sessions.created_at',
        'sessions.expires_at',
        'sessions.user_agent',
        'sessions.ip',
        'users.email',
        'users.display_name',
        'users.is_admin',
        'users.disabled_at',
      ])
      .where('sessions.id', '=', sessionId)
      .executeTakeFirst();
    if (!row || row.disabled_at) return null;
    if (row.expires_at.getTime() <= now) {
      await this.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
      return null;
    }
    let expiresAt = row.expires_at;
    if (expiresAt.getTime() - now < RENEW_WHEN_LEFT_MS) {
      expiresAt = new Date(now + SESSION_LIFETIME_MS);
      await this.db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', sessionId).execute();
    }
    const value: ValidSession = {
      session: { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt, userAgent: row.user_agent, ip: row.ip },
      user: { id: row.user_id, email: row.email, displayName: row.display_name, isAdmin: row.is_admin },
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(sessionId, { value, until: now + CACHE_TTL_MS });
    return value;
  }

  async list(userId: string): Promise<SessionInfo[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('expires_at', '>', new Date()).orderBy('created_at', 'desc').execute();
    return rows.map(toSessionInfo);
  }

  /** Ends one session (of `userId`, when given). Returns false when there was none. */
  async revoke(sessionId: string, userId?: string): Promise<boolean> {
    let q = this.db.deleteFrom('sessions').where('id', '=', sessionId);
    if (userId) q = q.where('user_id', '=', userId);
    const result = await q.executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) return false;
    this.events.publish({ type: 'session_revoked', sessionId });
    return true;
  }

  /** Ends every session of a user except `keep`. */
  async revokeAll(userId: string, keep?: string): Promise<number> {
    let q = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (keep) q = q.where('id', '!=', keep);
    const rows = await q.returning('id').execute();
    for (const { id } of rows) this.events.publish({ type: 'session_revoked', sessionId: id });
    return rows.length;
  }
}

function toSessionInfo(row: { id: string; user_id: string; created_at: Date; expires_at: Date; user_agent: string | null; ip: string | null }): SessionInfo {
  return { id: row.id, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at, userAgent: row.user_agent, ip: row.ip };
}

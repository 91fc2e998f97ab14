import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
import type { SessionRow } from '../tables/sessions';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertSession(db: Db, session: { id: string; userId: string; expiresAt: Date; userAgent: string | null; ip: string | null }): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({ id: session.id, user_id: session.userId, expires_at: session.expiresAt, user_agent: session.userAgent, ip: session.ip })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A session with the user it belongs to (whether disabled included), or undefined. */
export async function findSessionWithUser(db: Db, sessionId: string) {
  return db
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
}

export async function setSessionExpiry(db: Db, sessionId: string, expiresAt: Date): Promise<void> {
  await db.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', sessionId).execute();
}

/** A user's sessions that have not expired, newest first. */
export async function listLiveSessions(db: Db, userId: string): Promise<SessionRow[]> {
  return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).where('expires_at', '>', new Date()).orderBy('created_at', 'desc').execute();
}

/** Deletes a session (only of `userId`, when given); returns how many rows went (0 or 1). */
export async function deleteSession(db: Db, sessionId: string, userId?: string): Promise<number> {
  let q = db.deleteFrom('sessions').where('id', '=', sessionId);
  if (userId) q = q.where('user_id', '=', userId);
  return Number((await q.executeTakeFirst()).numDeletedRows);
}

/** Deletes every session of a user but `keep`; returns their ids. */
export async function deleteUserSessions(db: Db, userId: string, keep?: string): Promise<string[]> {
  let q = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keep) q = q.where('id', '!=', keep);
  return (await q.returning('id').execute()).map((r) => r.id);
}

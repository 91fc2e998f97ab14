import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
import type { AccessTokenRow } from '../tables/access-tokens';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertAccessToken(db: Db, token: { id: string; userId: string; tokenHash: string; name: string; scopes: string }): Promise<AccessTokenRow> {
  return db.insertInto('access_tokens').values({ id: token.id, user_id: token.userId, token_hash: token.tokenHash, name: token.name, scopes: token.scopes }).returningAll().executeTakeFirstOrThrow();
}

/** The token with this hash and its user (whether disabled included), or undefined. */
export async function findAccessTokenWithUser(db: Db, tokenHash: string) {
  return db
    .selectFrom('access_tokens')
    .innerJoin('users', 'users.id', 'access_tokens.user_id')
    .select(['access_tokens.id', 'access_tokens.scopes', 'users.id as user_id', 'users.email', 'users.display_name', 'users.is_admin', 'users.disabled_at'])
    .where('access_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export async function touchAccessToken(db: Db, tokenId: string): Promise<void> {
  await db.updateTable('access_tokens').set({ last_used_at: new Date() }).where('id', '=', tokenId).execute();
}

/** A user's tokens, newest first. */
export async function listAccessTokens(db: Db, userId: string): Promise<AccessTokenRow[]> {
  return db.selectFrom('access_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').execute();
}

/** Deletes a token (only of `userId`, when given); returns how many rows went (0 or 1). */
export async function deleteAccessToken(db: Db, tokenId: string, userId?: string): Promise<number> {
  let q = db.deleteFrom('access_tokens').where('id', '=', tokenId);
  if (userId) q = q.where('user_id', '=', userId);
  return Number((await q.executeTakeFirst()).numDeletedRows);
}

/** Deletes every token of a user; returns their ids. */
export async function deleteUserAccessTokens(db: Db, userId: string): Promise<string[]> {
  return (await db.deleteFrom('access_tokens').where('user_id', '=', userId).returning('id').execute()).map((r) => r.id);
}

import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
import type { UserRow } from '../tables/users';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertUser(db: Db, user: { id: string; email: string; displayName: string; passwordHash: string; isAdmin?: boolean }): Promise<UserRow> {
  return db
    .insertInto('users')
    .values({ id: user.id, email: user.email, display_name: user.displayName, password_hash: user.passwordHash, is_admin: user.isAdmin ?? false })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
}

/** Users whose email or name contains `query` (case-insensitive), newest first. */
export async function searchUsers(db: Db, { query, limit, offset }: { query?: string | undefined; limit: number; offset: number }): Promise<UserRow[]> {
  let q = db.selectFrom('users').selectAll();
  if (query) {
    const like = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('email', 'ilike', like), eb('display_name', 'ilike', like)]));
  }
  return q.orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute();
}

export async function countAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('is_admin', '=', true)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Sets or clears `disabled_at`; the user, or undefined when there is none. */
export async function setUserDisabled(db: Db, id: string, disabled: boolean): Promise<UserRow | undefined> {
  return db
    .updateTable('users')
    .set({ disabled_at: disabled ? new Date() : null })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Grants or revokes the admin role; the user, or undefined when there is none. */
export async function setUserAdmin(db: Db, id: string, isAdmin: boolean): Promise<UserRow | undefined> {
  return db.updateTable('users').set({ is_admin: isAdmin }).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Deletes a user (sessions, tokens and memberships go with it, by foreign key). */
export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute();
}

/** Locks a user's row until the end of `trx` (to count what they own one creation at a time). */
export async function lockUser(trx: Transaction<Database>, id: string): Promise<void> {
  await trx.selectFrom('users').select('id').where('id', '=', id).forUpdate().executeTakeFirst();
}

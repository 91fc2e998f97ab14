import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema';

type Db = Kysely<Database> | Transaction<Database>;

export async function insertSyncTicket(db: Db, ticket: { id: string; sessionId: string; expiresAt: Date }): Promise<void> {
  await db.insertInto('sync_tickets').values({ id: ticket.id, session_id: ticket.sessionId, expires_at: ticket.expiresAt }).execute();
}

/** Deletes tickets that expired over an hour ago. */
export async function deleteStaleSyncTickets(db: Db): Promise<void> {
  await db.deleteFrom('sync_tickets').where('expires_at', '<', sql<Date>`now() - interval '1 hour'`).execute();
}

/** Marks an unused, unexpired ticket used; returns its session id, or null. */
export async function useSyncTicket(db: Db, ticketId: string): Promise<string | null> {
  const row = await db
    .updateTable('sync_tickets')
    .set({ used_at: sql`now()` })
    .where('id', '=', ticketId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('session_id')
    .executeTakeFirst();
  return row?.session_id ?? null;
}

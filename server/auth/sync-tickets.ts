/**
 * Single-use tickets for `/sync?ticket=…`. Chrome sends no Lax cookies on a WebSocket opened
 * by an extension, so the extension first POSTs (with its cookie) for a ticket, then opens the
 * socket with it. A ticket is good for 30 seconds and one socket; it stands for the session
 * that asked for it, so revoking the session revokes what the ticket opened.
 */
import type { Kysely } from 'kysely';
import { deleteStaleSyncTickets, insertSyncTicket, useSyncTicket } from '../../db/repositories/sync-tickets';
import type { Database } from '../../db/schema';
import { hashSecret, randomSecret } from './secrets';

export const TICKET_LIFETIME_MS = 30_000;

export class SyncTicketService {
  constructor(private readonly db: Kysely<Database>) {}

  async create(sessionId: string): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = randomSecret();
    const expiresAt = new Date(Date.now() + TICKET_LIFETIME_MS);
    await insertSyncTicket(this.db, { id: hashSecret(ticket), sessionId, expiresAt });
    // Old tickets are useless; sweep them now and then rather than on a timer.
    if (Math.random() < 0.01) await deleteStaleSyncTickets(this.db);
    return { ticket, expiresAt };
  }

  /** Uses a ticket up; returns its session id, or null if unknown, expired or already used. */
  async redeem(ticket: string): Promise<string | null> {
    if (!/^[a-z2-7]{32}$/.test(ticket)) return null;
    return useSyncTicket(this.db, hashSecret(ticket));
  }
}

import type { ColumnType } from 'kysely';

/** Single-use, short-lived tickets that let an extension open `/sync` as a session. */
export interface SyncTicketsTable {
  /** SHA-256 of the ticket. */
  id: string;
  session_id: string;
  expires_at: Date;
  used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

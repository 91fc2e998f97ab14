import type { Generated, Selectable } from 'kysely';

/** Sign-in sessions (the Lucia guide's scheme): `id` is the SHA-256 of the secret token. */
export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
}

export type SessionRow = Selectable<SessionsTable>;

import type { ColumnType, Generated, Selectable } from 'kysely';

/** Personal access tokens for scripts: only the SHA-256 of the token is stored. */
export interface AccessTokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  name: string;
  /** Comma-separated subset of `read,write,admin`. */
  scopes: string;
  created_at: Generated<Date>;
  last_used_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type AccessTokenRow = Selectable<AccessTokensTable>;

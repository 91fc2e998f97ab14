import type { ColumnType, Generated, Selectable } from 'kysely';

export interface UsersTable {
  id: string;
  /** Lowercased. */
  email: string;
  display_name: string;
  /** `scrypt$…`, see server/auth/passwords.ts. */
  password_hash: string;
  is_admin: Generated<boolean>;
  disabled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: Generated<Date>;
}

export type UserRow = Selectable<UsersTable>;

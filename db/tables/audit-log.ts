import type { Generated, Selectable } from 'kysely';

/** Every administrative and permission action, append-only. */
export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  /** The user who acted; null for the system (first start, command line). */
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  /** JSON. */
  details: Generated<string>;
}

export type AuditLogRow = Selectable<AuditLogTable>;

import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema';
import type { AuditLogRow } from '../tables/audit-log';

type Db = Kysely<Database> | Transaction<Database>;

export interface AuditEntry {
  actorId: string | null;
  action: string;
  targetType: 'user' | 'document' | 'session' | 'token' | 'share_link' | 'member';
  targetId: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

export async function queryAudit(
  db: Db,
  filter: { actorId?: string | undefined; action?: string | undefined; targetType?: string | undefined; targetId?: string | undefined; before?: number | undefined; limit: number },
): Promise<AuditLogRow[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.actorId) q = q.where('actor_id', '=', filter.actorId);
  if (filter.action) q = q.where('action', '=', filter.action);
  if (filter.targetType) q = q.where('target_type', '=', filter.targetType);
  if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
  if (filter.before) q = q.where('id', '<', filter.before);
  return q.orderBy('id', 'desc').limit(filter.limit).execute();
}

/** Administration: users, their sessions and tokens, documents, stats, the audit log. */
import { z } from 'zod';
import { queryAudit, recordAudit } from '../../../db/repositories/audit';
import { findUserById, searchUsers } from '../../../db/repositories/users';
import * as schema from '../../../shared/api';
import { adminUserView } from '../../access/accounts';
import type { Principal } from '../../auth/principal';
import type { Api } from '../api';
import { HttpError } from '../http-error';
import type { Services } from '../services';
import { sessionView } from './account';

const adminUser = schema.user.extend({ disabled: z.boolean(), createdAt: z.string() });
const userParams = z.object({ userId: schema.id });
const docParams = z.object({ docId: schema.docId });
const actorOf = (p: Principal): string => (p.kind === 'user' ? p.user.id : 'unknown');

const adminDocument = z.object({
  id: z.string(),
  title: z.string(),
  ownerId: z.string().nullable(),
  ownerEmail: z.string().nullable(),
  createdAt: z.string(),
  lastActivity: z.string(),
  deletedAt: z.string().nullable(),
  commits: z.number(),
  logUpdates: z.number(),
  sizeBytes: z.number(),
  members: z.array(z.object({ userId: z.string(), email: z.string(), role: schema.role })),
});

const auditEntry = z.object({
  id: z.number(),
  at: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export function adminRoutes(api: Api, s: Services): void {
  const requireUser = async (userId: string) => {
    const row = await findUserById(s.db, userId);
    if (!row) throw new HttpError(404, 'not_found', 'no such user');
    return row;
  };

  api.route(
    { method: 'get', path: '/api/admin/users', summary: 'List or search users', tag: 'admin', auth: 'admin', query: schema.page, response: z.object({ users: z.array(adminUser) }) },
    async ({ query }) => ({ users: (await searchUsers(s.db, query)).map(adminUserView) }),
  );

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    api.route(
      { method: 'post', path: `/api/admin/users/:userId/${action}`, summary: `${action === 'disable' ? 'Disable' : 'Enable'} a user`, tag: 'admin', auth: 'admin', params: userParams, response: adminUser },
      async ({ principal, params }) => adminUserView(await s.accounts.setDisabled(actorOf(principal), params.userId, disabled)),
    );
  }

  api.route(
    { method: 'delete', path: '/api/admin/users/:userId', summary: 'Delete a user (their documents are soft-deleted)', tag: 'admin', auth: 'admin', params: userParams },
    async ({ principal, params }) => s.accounts.deleteUser(actorOf(principal), params.userId),
  );

  api.route(
    { method: 'put', path: '/api/admin/users/:userId/admin', summary: 'Grant the admin role', tag: 'admin', auth: 'admin', params: userParams, response: adminUser },
    async ({ principal, params }) => adminUserView(await s.accounts.setAdmin(actorOf(principal), params.userId, true)),
  );

  api.route(
    { method: 'delete', path: '/api/admin/users/:userId/admin', summary: 'Revoke the admin role', tag: 'admin', auth: 'admin', params: userParams, response: adminUser },
    async ({ principal, params }) => adminUserView(await s.accounts.setAdmin(actorOf(principal), params.userId, false)),
  );

  api.route(
    { method: 'get', path: '/api/admin/users/:userId/sessions', summary: 'A user’s sessions', tag: 'admin', auth: 'admin', params: userParams, response: z.object({ sessions: z.array(schema.session) }) },
    async ({ params }) => {
      await requireUser(params.userId);
      return { sessions: (await s.sessions.list(params.userId)).map((x) => sessionView(x, null)) };
    },
  );

  api.route(
    { method: 'delete', path: '/api/admin/users/:userId/sessions', summary: 'End all of a user’s sessions', tag: 'admin', auth: 'admin', params: userParams, response: z.object({ revoked: z.number() }) },
    async ({ principal, params }) => {
      await requireUser(params.userId);
      const revoked = await s.sessions.revokeAll(params.userId);
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'session.revoked_all', targetType: 'user', targetId: params.userId, details: { revoked } });
      return { revoked };
    },
  );

  api.route(
    { method: 'delete', path: '/api/admin/sessions/:sessionId', summary: 'End any session', tag: 'admin', auth: 'admin', params: z.object({ sessionId: z.string().regex(/^[0-9a-f]{64}$/) }) },
    async ({ principal, params }) => {
      if (!(await s.sessions.revoke(params.sessionId))) throw new HttpError(404, 'not_found', 'no such session');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'session.revoked', targetType: 'session', targetId: params.sessionId });
    },
  );

  api.route(
    { method: 'get', path: '/api/admin/users/:userId/tokens', summary: 'A user’s access tokens', tag: 'admin', auth: 'admin', params: userParams, response: z.object({ tokens: z.array(schema.accessToken) }) },
    async ({ params }) => {
      await requireUser(params.userId);
      const tokens = await s.tokens.list(params.userId);
      return { tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null })) };
    },
  );

  api.route(
    { method: 'delete', path: '/api/admin/tokens/:tokenId', summary: 'Revoke any access token', tag: 'admin', auth: 'admin', params: z.object({ tokenId: schema.id }) },
    async ({ principal, params }) => {
      if (!(await s.tokens.revoke(params.tokenId))) throw new HttpError(404, 'not_found', 'no such token');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'token.revoked', targetType: 'token', targetId: params.tokenId });
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/documents',
      summary: 'List or search documents (by id or title), with size, activity and members',
      tag: 'admin',
      auth: 'admin',
      query: schema.page.extend({ deleted: z.enum(['true', 'false']).optional() }),
      response: z.object({ documents: z.array(adminDocument) }),
    },
    async ({ query }) => ({ documents: await s.documents.adminSearch({ ...query, deleted: query.deleted === 'true' }) }),
  );

  api.route(
    { method: 'get', path: '/api/admin/documents/:docId/text', summary: 'Export a document’s text', tag: 'admin', auth: 'admin', params: docParams, response: z.object({ text: z.string() }) },
    async ({ principal, params }) => {
      const exists = await s.db.selectFrom('documents').select('id').where('id', '=', params.docId).executeTakeFirst();
      if (!exists) throw new HttpError(404, 'not_found', 'no such document');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'document.exported', targetType: 'document', targetId: params.docId });
      return { text: await s.documents.text(params.docId) };
    },
  );

  api.route(
    { method: 'delete', path: '/api/admin/documents/:docId', summary: 'Delete a document (restorable for 30 days)', tag: 'admin', auth: 'admin', params: docParams },
    async ({ principal, params }) => s.documents.delete(actorOf(principal), params.docId),
  );

  api.route(
    { method: 'post', path: '/api/admin/documents/:docId/restore', summary: 'Restore a deleted document', tag: 'admin', auth: 'admin', params: docParams },
    async ({ principal, params }) => s.documents.restore(actorOf(principal), params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/admin/documents/:docId/compact',
      summary: 'Fold the document’s log into a snapshot now',
      tag: 'admin',
      auth: 'admin',
      params: docParams,
      response: z.object({ compacted: z.boolean(), seq: z.number().nullable(), snapshotBytes: z.number().nullable() }),
    },
    async ({ principal, params }) => {
      const exists = await s.db.selectFrom('documents').select('id').where('id', '=', params.docId).executeTakeFirst();
      if (!exists) throw new HttpError(404, 'not_found', 'no such document');
      const result = await s.compact(params.docId);
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'document.compacted', targetType: 'document', targetId: params.docId, details: { seq: result?.seq ?? null } });
      return { compacted: result !== null, seq: result?.seq ?? null, snapshotBytes: result?.bytes ?? null };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/stats',
      summary: 'This node: connections, loaded rooms, updates/s, memory',
      tag: 'admin',
      auth: 'admin',
      response: z.object({
        connections: z.number(),
        loadedDocuments: z.number(),
        updatesPerSecond: z.number(),
        updatesCommitted: z.number(),
        eventLoopP99Ms: z.number(),
        rssBytes: z.number(),
        otherNodes: z.object({ entriesFromDoorbells: z.number(), logReads: z.number() }),
      }),
    },
    async () => {
      const m = s.metrics.snapshot();
      return {
        connections: m.connections,
        loadedDocuments: m.loadedDocuments,
        updatesPerSecond: m.updatesPerSecond,
        updatesCommitted: m.updatesCommitted,
        eventLoopP99Ms: m.eventLoop.p99Ms,
        rssBytes: m.memory.rss,
        otherNodes: m.otherNodes,
      };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/audit',
      summary: 'The audit log, newest first (filter by actor, action, target; page with `before`)',
      tag: 'admin',
      auth: 'admin',
      query: z.strictObject({
        actorId: schema.id.optional(),
        action: z.string().max(100).optional(),
        targetType: z.string().max(50).optional(),
        targetId: z.string().max(100).optional(),
        before: z.coerce.number().int().positive().optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: z.object({ entries: z.array(auditEntry) }),
    },
    async ({ query }) => ({
      entries: (await queryAudit(s.db, query)).map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actorId: r.actor_id,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        details: JSON.parse(r.details) as Record<string, unknown>,
      })),
    }),
  );
}

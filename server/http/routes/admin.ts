/** Administration: users, their sessions and tokens, documents, stats, the audit log. */
import { z } from 'zod';
import { queryAudit, recordAudit } from '../../../db/repositories/audit';
import { documentExists } from '../../../db/repositories/documents';
import { findUserById, searchUsers } from '../../../db/repositories/users';
import * as schema from '../../../shared/api';
import { adminUserView } from '../../access/accounts';
import type { Principal } from '../../auth/principal';
import { randomSecret } from '../../auth/secrets';
import type { Api } from '../api';
import { DomainError } from '../../errors';
import type { Services } from '../services';
import { sessionView } from './account';

const adminUser = schema.user.extend({ disabled: z.boolean(), createdAt: z.string() }).meta({ id: 'AdminUser' });
const userParams = z.object({ userId: schema.id });
const docParams = z.object({ docId: schema.docId });
const actorOf = (p: Principal): string => (p.kind === 'user' ? p.user.id : 'unknown');

const adminDocument = z
  .object({
    id: z.string(),
    title: z.string(),
    ownerId: z.string().nullable(),
    ownerEmail: z.string().meta({ format: 'email' }).nullable(),
    createdAt: z.string(),
    lastActivity: z.string(),
    deletedAt: z.string().nullable(),
    commits: z.number(),
    logUpdates: z.number(),
    sizeBytes: z.number(),
    members: z.array(z.object({ userId: z.string(), email: z.string().meta({ format: 'email' }), role: schema.role })),
  })
  .meta({ id: 'AdminDocument' });

const auditEntry = z
  .object({
    id: z.number(),
    at: z.string(),
    actorId: z.string().nullable(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });

export function adminRoutes(api: Api, s: Services): void {
  const requireUser = async (userId: string) => {
    const row = await findUserById(s.db, userId);
    if (!row) throw new DomainError('not_found', 'no such user');
    return row;
  };

  api.route(
    {
      method: 'get',
      path: '/api/admin/users',
      operationId: 'listUsers',
      summary: 'List or search users',
      tag: 'admin',
      auth: 'admin',
      query: schema.page,
      response: z.object({ users: z.array(adminUser) }),
    },
    async ({ query }) => ({ users: (await searchUsers(s.db, query)).map(adminUserView) }),
  );

  api.route(
    {
      method: 'post',
      path: '/api/admin/users',
      operationId: 'createUser',
      errors: ['weak_password', 'email_taken', 'busy'],
      summary: 'Create an account (the way in when sign-up is closed); a generated password is shown once',
      tag: 'admin',
      auth: 'admin',
      body: schema.createUserBody,
      response: z.object({ user: adminUser, password: z.string().nullable() }),
      status: 201,
    },
    async ({ principal, body }) => {
      const generated = body.password ? null : randomSecret(12);
      const user = await s.accounts.createUser(actorOf(principal), {
        email: body.email,
        password: body.password ?? generated!,
        displayName: body.displayName ?? body.email.split('@')[0]!,
      });
      return { user: adminUserView(user), password: generated };
    },
  );

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    api.route(
      {
        method: 'post',
        path: `/api/admin/users/:userId/${action}`,
        operationId: `${action}User`,
        errors: ['not_found'],
        summary: `${action === 'disable' ? 'Disable' : 'Enable'} a user`,
        tag: 'admin',
        auth: 'admin',
        params: userParams,
        response: adminUser,
      },
      async ({ principal, params }) => adminUserView(await s.accounts.setDisabled(actorOf(principal), params.userId, disabled)),
    );
  }

  api.route(
    {
      method: 'delete',
      path: '/api/admin/users/:userId',
      operationId: 'deleteUser',
      errors: ['not_found', 'last_admin'],
      summary: 'Delete a user (their documents are soft-deleted)',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
    },
    async ({ principal, params }) => s.accounts.deleteUser(actorOf(principal), params.userId),
  );

  api.route(
    {
      method: 'put',
      path: '/api/admin/users/:userId/admin',
      operationId: 'grantAdmin',
      errors: ['not_found'],
      summary: 'Grant the admin role',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
      response: adminUser,
    },
    async ({ principal, params }) => adminUserView(await s.accounts.setAdmin(actorOf(principal), params.userId, true)),
  );

  api.route(
    {
      method: 'delete',
      path: '/api/admin/users/:userId/admin',
      operationId: 'revokeAdmin',
      errors: ['not_found', 'last_admin'],
      summary: 'Revoke the admin role',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
      response: adminUser,
    },
    async ({ principal, params }) => adminUserView(await s.accounts.setAdmin(actorOf(principal), params.userId, false)),
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/users/:userId/sessions',
      operationId: 'listUserSessions',
      errors: ['not_found'],
      summary: 'A user’s sessions',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
      response: z.object({ sessions: z.array(schema.session) }),
    },
    async ({ params }) => {
      await requireUser(params.userId);
      return { sessions: (await s.sessions.list(params.userId)).map((x) => sessionView(x, null)) };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/admin/users/:userId/sessions',
      operationId: 'endUserSessions',
      errors: ['not_found'],
      summary: 'End all of a user’s sessions',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
      response: z.object({ revoked: z.number() }),
    },
    async ({ principal, params }) => {
      await requireUser(params.userId);
      const revoked = await s.sessions.revokeAll(params.userId);
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'session.revoked_all', targetType: 'user', targetId: params.userId, details: { revoked } });
      return { revoked };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/admin/sessions/:sessionId',
      operationId: 'endSession',
      errors: ['not_found'],
      summary: 'End any session',
      tag: 'admin',
      auth: 'admin',
      params: z.object({ sessionId: z.string().regex(/^[0-9a-f]{64}$/) }),
    },
    async ({ principal, params }) => {
      if (!(await s.sessions.revoke(params.sessionId))) throw new DomainError('not_found', 'no such session');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'session.revoked', targetType: 'session', targetId: params.sessionId });
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/users/:userId/tokens',
      operationId: 'listUserTokens',
      errors: ['not_found'],
      summary: 'A user’s access tokens',
      tag: 'admin',
      auth: 'admin',
      params: userParams,
      response: z.object({ tokens: z.array(schema.accessToken) }),
    },
    async ({ params }) => {
      await requireUser(params.userId);
      const tokens = await s.tokens.list(params.userId);
      return { tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, createdAt: t.createdAt.toISOString(), lastUsedAt: t.lastUsedAt?.toISOString() ?? null })) };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/admin/tokens/:tokenId',
      operationId: 'revokeToken',
      errors: ['not_found'],
      summary: 'Revoke any access token',
      tag: 'admin',
      auth: 'admin',
      params: z.object({ tokenId: schema.id }),
    },
    async ({ principal, params }) => {
      if (!(await s.tokens.revoke(params.tokenId))) throw new DomainError('not_found', 'no such token');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'token.revoked', targetType: 'token', targetId: params.tokenId });
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/documents',
      operationId: 'listAllDocuments',
      summary: 'List or search documents (by id or title), with size, activity and members',
      tag: 'admin',
      auth: 'admin',
      query: schema.page.extend({ deleted: z.enum(['true', 'false']).optional() }),
      response: z.object({ documents: z.array(adminDocument) }),
    },
    async ({ query }) => ({ documents: await s.documents.adminSearch({ ...query, deleted: query.deleted === 'true' }) }),
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/documents/:docId/text',
      operationId: 'exportDocumentText',
      errors: ['not_found', 'export_timeout'],
      summary: 'Export a document’s text',
      tag: 'admin',
      auth: 'admin',
      params: docParams,
      response: z.object({ text: z.string() }),
    },
    async ({ principal, params }) => {
      if (!(await documentExists(s.db, params.docId))) throw new DomainError('not_found', 'no such document');
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'document.exported', targetType: 'document', targetId: params.docId });
      return { text: await s.documents.text(params.docId) };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/admin/documents/:docId',
      operationId: 'deleteAnyDocument',
      errors: ['not_found'],
      summary: 'Delete a document (restorable for 30 days)',
      tag: 'admin',
      auth: 'admin',
      params: docParams,
    },
    async ({ principal, params }) => s.documents.delete(actorOf(principal), params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/admin/documents/:docId/restore',
      operationId: 'restoreDocument',
      errors: ['not_found'],
      summary: 'Restore a deleted document',
      tag: 'admin',
      auth: 'admin',
      params: docParams,
    },
    async ({ principal, params }) => s.documents.restore(actorOf(principal), params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/admin/documents/:docId/compact',
      operationId: 'compactDocument',
      errors: ['not_found'],
      summary: 'Fold the document’s log into a snapshot now',
      tag: 'admin',
      auth: 'admin',
      params: docParams,
      response: z.object({ compacted: z.boolean(), seq: z.number().nullable(), snapshotBytes: z.number().nullable() }),
    },
    async ({ principal, params }) => {
      if (!(await documentExists(s.db, params.docId))) throw new DomainError('not_found', 'no such document');
      const result = await s.compact(params.docId);
      await recordAudit(s.db, { actorId: actorOf(principal), action: 'document.compacted', targetType: 'document', targetId: params.docId, details: { seq: result?.seq ?? null } });
      return { compacted: result !== null, seq: result?.seq ?? null, snapshotBytes: result?.bytes ?? null };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/admin/stats',
      operationId: 'getNodeStats',
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
      operationId: 'listAuditLog',
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

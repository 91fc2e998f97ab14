/** Documents: create, list mine, read, rename, delete; members; share links; text export. */
import { z } from 'zod';
import * as schema from '../../../shared/api';
import { userOf, type Api } from '../api';
import type { Services } from '../services';

const docParams = z.object({ docId: schema.docId });

export function documentRoutes(api: Api, s: Services): void {
  api.route(
    {
      method: 'post',
      path: '/api/documents',
      operationId: 'createDocument',
      errors: ['quota_exceeded', 'document_too_large'],
      summary: 'Create a document (optionally from a field’s text)',
      tag: 'documents',
      auth: 'user',
      body: schema.createDocumentBody,
      response: schema.document,
      status: 201,
    },
    async ({ principal, body }) => s.documents.create(userOf(principal).id, body),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents',
      operationId: 'listDocuments',
      summary: 'Documents I own or am a member of',
      tag: 'documents',
      auth: 'user',
      response: z.object({ documents: z.array(schema.document) }),
    },
    async ({ principal }) => ({ documents: await s.documents.listFor(userOf(principal).id) }),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId',
      operationId: 'getDocument',
      errors: ['not_found'],
      summary: 'One document',
      tag: 'documents',
      auth: 'user',
      params: docParams,
      response: schema.document,
    },
    async ({ principal, params }) => s.documents.view(principal, params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/:docId/open',
      operationId: 'openSharedDocument',
      errors: ['not_found'],
      summary: 'One document, seen through a share link (for the extension: where it was written, and my permission)',
      tag: 'sharing',
      auth: 'public',
      params: docParams,
      body: schema.openDocumentBody,
      response: schema.document,
    },
    async ({ principal, params, body }) => s.documents.view(principal, params.docId, body.share),
  );

  api.route(
    {
      method: 'patch',
      path: '/api/documents/:docId',
      operationId: 'renameDocument',
      errors: ['not_found', 'forbidden'],
      summary: 'Rename a document',
      tag: 'documents',
      auth: 'user',
      params: docParams,
      body: schema.renameDocumentBody,
      response: schema.document,
    },
    async ({ principal, params, body }) => s.documents.rename(principal, params.docId, body.title),
  );

  api.route(
    {
      method: 'delete',
      path: '/api/documents/:docId',
      operationId: 'deleteDocument',
      errors: ['not_found', 'forbidden'],
      summary: 'Delete a document (restorable by an admin for 30 days)',
      tag: 'documents',
      auth: 'user',
      params: docParams,
    },
    async ({ principal, params }) => s.documents.deleteAsOwner(principal, params.docId),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/text',
      operationId: 'getDocumentText',
      errors: ['not_found', 'export_timeout', 'busy'],
      summary: 'The document’s text',
      tag: 'documents',
      auth: 'user',
      params: docParams,
      response: z.object({ text: z.string() }),
    },
    async ({ principal, params }) => {
      await s.documents.decide(principal, params.docId);
      return { text: await s.documents.text(params.docId) };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/members',
      operationId: 'listMembers',
      errors: ['not_found'],
      summary: 'Members and their roles',
      tag: 'sharing',
      auth: 'user',
      params: docParams,
      response: z.object({ members: z.array(schema.member) }),
    },
    async ({ principal, params }) => ({ members: await s.documents.members(principal, params.docId) }),
  );

  api.route(
    {
      method: 'put',
      path: '/api/documents/:docId/members',
      operationId: 'setMember',
      errors: ['not_found', 'forbidden', 'user_not_found', 'owner_role'],
      summary: 'Add a member by email, or change their role (owner only)',
      tag: 'sharing',
      auth: 'user',
      params: docParams,
      body: schema.setMemberBody,
      response: z.object({ userId: z.string(), role: schema.role }),
    },
    async ({ principal, params, body }) => s.documents.setMember(principal, params.docId, body.email, body.role),
  );

  api.route(
    {
      method: 'delete',
      path: '/api/documents/:docId/members/:userId',
      operationId: 'removeMember',
      errors: ['not_found', 'forbidden', 'owner_role'],
      summary: 'Remove a member (owner), or leave (yourself); their sockets are evicted',
      tag: 'sharing',
      auth: 'user',
      params: z.object({ docId: schema.docId, userId: schema.id }),
    },
    async ({ principal, params }) => s.documents.removeMember(principal, params.docId, params.userId),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/links',
      operationId: 'listShareLinks',
      errors: ['not_found', 'forbidden'],
      summary: 'Share links (owner only)',
      tag: 'sharing',
      auth: 'user',
      params: docParams,
      response: z.object({ links: z.array(schema.shareLink) }),
    },
    async ({ principal, params }) => ({ links: await s.documents.links(principal, params.docId) }),
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/:docId/links',
      operationId: 'createShareLink',
      errors: ['not_found', 'forbidden', 'quota_exceeded'],
      summary: 'Create a share link: anyone with it can view or edit (the token is shown once)',
      tag: 'sharing',
      auth: 'user',
      params: docParams,
      body: schema.createLinkBody,
      response: schema.createdShareLink,
      status: 201,
    },
    async ({ principal, params, body, ctx }) => {
      const link = await s.documents.createLink(principal, params.docId, body.access);
      return { ...link, url: schema.shareUrl(s.hosts.linkOrigin(ctx.req, s.config.auth), params.docId, link.token) };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api/documents/:docId/links/:linkId',
      operationId: 'revokeShareLink',
      errors: ['not_found', 'forbidden'],
      summary: 'Revoke a share link; sockets that joined with it are evicted',
      tag: 'sharing',
      auth: 'user',
      params: z.object({ docId: schema.docId, linkId: schema.id }),
    },
    async ({ principal, params }) => s.documents.revokeLink(principal, params.docId, params.linkId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/:docId/links/:linkId/rotate',
      operationId: 'rotateShareLink',
      errors: ['not_found', 'forbidden'],
      summary: 'Replace a share link with a new one of the same access',
      tag: 'sharing',
      auth: 'user',
      params: z.object({ docId: schema.docId, linkId: schema.id }),
      response: schema.createdShareLink,
      status: 201,
    },
    async ({ principal, params, ctx }) => {
      const link = await s.documents.rotateLink(principal, params.docId, params.linkId);
      return { ...link, url: schema.shareUrl(s.hosts.linkOrigin(ctx.req, s.config.auth), params.docId, link.token) };
    },
  );
}

/** Version history: list, open, compare, restore, name; export a version or the document; import. */
import { z } from 'zod';
import * as schema from '../../../shared/api';
import { userOf, type Api } from '../api';
import type { Services } from '../services';

const docParams = z.object({ docId: schema.docId });
const versionParams = z.object({ docId: schema.docId, versionId: schema.versionId });
const MEDIA = { text: 'text/plain; charset=utf-8', markdown: 'text/markdown; charset=utf-8', html: 'text/html; charset=utf-8' } as const;

export function historyRoutes(api: Api, s: Services): void {
  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/versions',
      operationId: 'listVersions',
      errors: ['not_found'],
      summary: 'The version history, newest first (readers too)',
      tag: 'history',
      auth: 'user',
      params: docParams,
      response: z.object({ versions: z.array(schema.version) }),
    },
    async ({ principal, params }) => s.history.list(principal, params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/:docId/versions',
      operationId: 'nameVersion',
      errors: ['not_found', 'forbidden', 'no_history'],
      summary: 'Name the current state (writers); later edits start a new version',
      tag: 'history',
      auth: 'user',
      params: docParams,
      body: schema.nameVersionBody,
      response: schema.version,
      status: 201,
    },
    async ({ principal, params, body }) => s.history.name(principal, params.docId, body.name),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/versions/:versionId',
      operationId: 'getVersion',
      errors: ['not_found', 'version_not_found', 'export_timeout', 'busy'],
      summary: 'The document at a version: text, formatting and (unless authors=false) who wrote what',
      tag: 'history',
      auth: 'user',
      params: versionParams,
      query: z.strictObject({ authors: z.enum(['true', 'false']).default('true') }),
      response: schema.versionContent,
    },
    async ({ principal, params, query }) => s.history.open(principal, params.docId, params.versionId, query.authors === 'true'),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/versions/:versionId/diff',
      operationId: 'diffVersions',
      errors: ['not_found', 'version_not_found', 'export_timeout', 'busy'],
      summary: 'What changed from another version (`from`) to this one, word by word',
      tag: 'history',
      auth: 'user',
      params: versionParams,
      query: z.strictObject({ from: schema.versionId }),
      response: schema.versionDiff,
    },
    async ({ principal, params, query }) => s.history.diff(principal, params.docId, query.from, params.versionId),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/versions/:versionId/export',
      operationId: 'exportVersion',
      errors: ['not_found', 'version_not_found', 'export_timeout', 'busy'],
      summary: 'A version as plain text, Markdown or sanitised HTML',
      tag: 'history',
      auth: 'user',
      params: versionParams,
      query: z.strictObject({ format: schema.exportFormat.default('text') }),
      produces: 'text/plain; charset=utf-8',
    },
    async ({ principal, params, query, ctx }) => {
      const body = await s.history.export(principal, params.docId, params.versionId, query.format);
      ctx.type = MEDIA[query.format];
      return body;
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/:docId/versions/:versionId/restore',
      operationId: 'restoreVersion',
      errors: ['not_found', 'forbidden', 'version_not_found', 'export_timeout', 'document_too_large', 'busy'],
      summary: 'Restore a version as a new change on top (writers); everyone connected sees it',
      tag: 'history',
      auth: 'user',
      params: versionParams,
      response: z.object({ restored: z.boolean(), text: z.string() }),
    },
    async ({ principal, params }) => s.history.restore(principal, params.docId, params.versionId),
  );

  api.route(
    {
      method: 'get',
      path: '/api/documents/:docId/snapshot',
      operationId: 'getSnapshot',
      errors: ['not_found', 'export_timeout', 'busy'],
      summary: 'A Loro snapshot of the whole document, history included',
      tag: 'history',
      auth: 'user',
      params: docParams,
      produces: 'application/octet-stream',
    },
    async ({ principal, params }) => s.history.snapshot(principal, params.docId),
  );

  api.route(
    {
      method: 'post',
      path: '/api/documents/import',
      operationId: 'importDocument',
      errors: ['invalid_snapshot', 'document_too_large', 'quota_exceeded', 'busy'],
      summary: 'A new document from a Loro snapshot (base64), plain text or Markdown',
      tag: 'history',
      auth: 'user',
      body: schema.importDocumentBody,
      response: schema.document,
      status: 201,
    },
    async ({ principal, body }) => s.history.import(userOf(principal).id, body),
  );

  // A snapshot as bytes: JSON bodies stop at 2 MiB, a document's snapshot may be far larger.
  api.route(
    {
      method: 'post',
      path: '/api/documents/import/snapshot',
      operationId: 'importSnapshot',
      errors: ['invalid_snapshot', 'quota_exceeded', 'busy'],
      summary: 'A new document from a Loro snapshot sent as bytes (application/octet-stream), as large as a document may be',
      tag: 'history',
      auth: 'user',
      query: z.object({ title: schema.title.default('') }),
      bytes: { maxBytes: s.config.sync.maxDocumentBytes },
      response: schema.document,
      status: 201,
    },
    async ({ principal, query, bytes }) => s.history.importSnapshot(userOf(principal).id, query.title, bytes ?? new Uint8Array()),
  );
}

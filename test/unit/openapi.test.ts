/**
 * `/api/openapi.json` (issue 20, item 8), checked over the whole document: every operation has
 * a unique operationId and lists its error codes under the status each is sent with; shared
 * shapes are components reached by $ref, every $ref resolves and every component is used;
 * every email is stated as one.
 */
import Router from '@koa/router';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, statusOf, wireCodeOf } from '../../server/http/error-status';
import { declareApi } from '../../server/http/app';
import type { Services } from '../../server/http/services';
import { testConfig } from '../helpers/test-server';

type Json = Record<string, unknown>;

/** The document as the server builds it (the routes read `services` only when called). */
function openapiDocument(): Json {
  const services = { config: testConfig() } as unknown as Services;
  return JSON.parse(JSON.stringify(declareApi(new Router(), services).openapi({ title: 'Tandem', version: '1' }))) as Json;
}

/** Every value in `node`, with its JSON pointer. */
function* walk(node: unknown, pointer = '#'): Generator<[string, unknown]> {
  yield [pointer, node];
  if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) yield* walk(value, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

function resolve(document: Json, ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  let node: unknown = document;
  for (const part of ref.slice(2).split('/')) node = (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every (code, status) pair the server answers with. */
const sent = ERROR_CODES.map((code) => [wireCodeOf(code), String(statusOf(code))]);

describe('OpenAPI document', () => {
  const document = openapiDocument();
  const operations = Object.entries(document.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, operation: item[method] as Json })),
  );

  it('is OpenAPI 3.1 with operations', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(operations.length).toBeGreaterThan(30);
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    for (const [i, id] of ids.entries()) expect(id, `${operations[i]!.method} ${operations[i]!.path}`).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists every operation’s error codes under the status each is sent with', () => {
    for (const { path, method, operation } of operations) {
      const where = `${method} ${path}`;
      const responses = operation.responses as Record<string, Json>;
      const errorStatuses = Object.keys(responses).filter((s) => /^[45]\d\d$/.test(s));
      expect(errorStatuses.length, where).toBeGreaterThan(0);
      for (const status of errorStatuses) {
        const schema = (responses[status]!.content as Record<string, { schema: Json }>)['application/json']!.schema;
        const codes = (((schema.allOf as Json[])[1]!.properties as Json).error as { properties: { code: { enum: string[] } } }).properties.code.enum;
        expect((schema.allOf as Json[])[0]).toEqual({ $ref: '#/components/schemas/Error' });
        expect(codes.length, `${where} ${status}`).toBeGreaterThan(0);
        // Each listed code is one the server sends, with this status (as it goes on the wire: see WIRE_CODE).
        for (const code of codes) expect(sent, `${where}: ${code}`).toContainEqual([code, status]);
        expect(responses[status]!.description, `${where} ${status}`).toContain(codes[0]);
      }
      const listed = errorStatuses.flatMap((s) => (((responses[s]!.content as Json)['application/json'] as Json).schema as { allOf: Json[] }).allOf[1]!);
      expect(listed.length).toBe(errorStatuses.length);
    }
    // The common ones follow from the declaration: a route with a body can get invalid_json, a signed-in one unauthenticated.
    const codesOf = (path: string, method: string): string[] =>
      Object.entries(((document.paths as Record<string, Json>)[path]![method] as Json).responses as Record<string, Json>)
        .filter(([s]) => /^[45]/.test(s))
        .flatMap(
          ([, r]) =>
            (((((r.content as Json)['application/json'] as Json).schema as { allOf: Json[] }).allOf[1]!.properties as Json).error as { properties: { code: { enum: string[] } } }).properties.code.enum,
        );
    expect(codesOf('/api/auth/login', 'post')).toEqual(expect.arrayContaining(['invalid_credentials', 'too_many_attempts', 'invalid_json', 'invalid_request', 'bad_origin']));
    expect(codesOf('/api/documents/{docId}', 'get')).toEqual(expect.arrayContaining(['not_found', 'unauthenticated', 'insufficient_scope']));
    expect(codesOf('/api/admin/users/{userId}/admin', 'delete')).toEqual(expect.arrayContaining(['last_admin', 'forbidden']));
    expect(codesOf('/api/me', 'get')).not.toContain('invalid_json');
  });

  it('shares its shapes as components reached by $ref, each used and each resolving', () => {
    const schemas = (document.components as { schemas: Record<string, Json> }).schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Error', 'User', 'Document', 'AccessToken', 'Session', 'ShareLink', 'Member']));
    const refs = [...walk(document)].filter(([, v]) => v && typeof v === 'object' && typeof (v as Json).$ref === 'string').map(([p, v]) => [p, (v as { $ref: string }).$ref] as const);
    for (const [pointer, ref] of refs) expect(resolve(document, ref), `${pointer} -> ${ref}`).toBeDefined();
    const used = new Set(refs.map(([, ref]) => ref));
    for (const name of Object.keys(schemas)) expect(used.has(`#/components/schemas/${name}`), `${name} is never referenced`).toBe(true);
    // Defined once: no component's shape is repeated inline under paths.
    const inline = [...walk(document.paths, '#/paths')].filter(
      ([, v]) => v && typeof v === 'object' && (v as Json).type === 'object' && Object.keys(((v as Json).properties as Json | undefined) ?? {}).join() === 'id,email,displayName,isAdmin',
    );
    expect(inline.map(([p]) => p)).toEqual([]);
    expect(refs.some(([p]) => p.startsWith('#/paths'))).toBe(true);
  });

  it('states the format of every email', () => {
    const emails = [...walk(document)].filter(([pointer]) => /\/properties\/email$/.test(pointer));
    expect(emails.length).toBeGreaterThan(4);
    for (const [pointer, schema] of emails) expect((schema as Json).format, pointer).toBe('email');
  });
});

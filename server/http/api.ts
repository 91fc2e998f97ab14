/**
 * Declares REST routes once: the zod schemas validate requests (unknown fields refused) and
 * describe responses, the auth requirement is enforced, cookie-authenticated mutations get the
 * origin check, and the same declarations produce `/api/openapi.json`.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { hasScope, type Principal, type Scope, type UserInfo } from '../auth/principal';
import type { AuthOptions } from '../config';
import { readBytes, readJson } from './body';
import { DomainError, type ErrorCode } from '../errors';
import { statusOf, wireCodeOf } from './error-status';
import { classifyOrigin } from '../auth/origin-policy';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What the authentication middleware leaves on `ctx.state`. */
export interface RequestAuth {
  principal: Principal;
  /** How the principal was established: a cookie needs CSRF protection, a bearer token does not. */
  via: 'cookie' | 'bearer' | null;
}

export interface RouteSpec<P, Q, B> {
  method: Method;
  path: string;
  /** The OpenAPI operationId: a verb and a noun in camelCase (`listDocuments`), unique. */
  operationId: string;
  summary: string;
  tag: string;
  /** `public`: anyone; `user`: a signed-in user or token; `admin`: an admin with the admin scope. */
  auth: 'public' | 'user' | 'admin';
  /** The token scope needed (default: read for GET, write otherwise, admin for admin routes). */
  scope?: Scope;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** A body of raw bytes (`application/octet-stream`) up to this size, given to the handler as `bytes` (instead of a JSON `body`). */
  bytes?: { maxBytes: number };
  response?: z.ZodType;
  /** A body that is not JSON: its media type (the handler returns a string or bytes). */
  produces?: string;
  /** Success status (default 200, or 204 when there is no response schema). */
  status?: number;
  /**
   * The errors the handler itself may answer with. Those that follow from the declaration are
   * added by `openapi()` (see `errorsOf`): invalid_request with params, query or a body; the
   * body errors; bad_origin for changes; unauthenticated and insufficient_scope when signed in;
   * forbidden for admin routes.
   */
  errors?: readonly ErrorCode[];
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The raw body of a route that takes bytes (`spec.bytes`). */
  bytes: Uint8Array | undefined;
  principal: Principal;
  ctx: Context;
}

/** The signed-in user of a route that requires one (the route's `auth` already checked it). */
export function userOf(principal: Principal): UserInfo {
  if (principal.kind !== 'user') throw new DomainError('unauthenticated', 'sign in first');
  return principal.user;
}

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error', description: 'Every error: a code from a closed set (each operation lists its own) and a message for people.' });

/** Every error an operation may answer with: its own, and those that follow from its declaration. */
function errorsOf(spec: RouteSpec<unknown, unknown, unknown>): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors ?? []);
  // Any request: a bearer token that does not validate; a session cookie on a foreign Host name.
  codes.add('invalid_token');
  codes.add('unknown_host');
  if (spec.params || spec.query || spec.body) codes.add('invalid_request');
  if (spec.body) for (const code of ['invalid_json', 'payload_too_large', 'unsupported_media_type'] as const) codes.add(code);
  if (spec.bytes) for (const code of ['payload_too_large', 'unsupported_media_type'] as const) codes.add(code);
  if (spec.method !== 'get') codes.add('bad_origin');
  if (spec.auth !== 'public') {
    codes.add('unauthenticated');
    codes.add('insufficient_scope');
  }
  if (spec.auth === 'admin') codes.add('forbidden');
  return [...codes];
}

type Json = Record<string, unknown>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw new DomainError('invalid_request', `invalid ${where}: ${describeIssues(result.error)}`);
  return result.data;
}

export class Api {
  private readonly specs: RouteSpec<unknown, unknown, unknown>[] = [];

  constructor(
    private readonly router: Router,
    private readonly auth: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'proxyHops' | 'extensionIds'>,
  ) {}

  route<P = undefined, Q = undefined, B = undefined>(spec: RouteSpec<P, Q, B>, handler: (input: RouteInput<P, Q, B>) => Promise<unknown>): void {
    this.specs.push(spec as RouteSpec<unknown, unknown, unknown>);
    const scope: Scope = spec.scope ?? (spec.auth === 'admin' ? 'admin' : spec.method === 'get' ? 'read' : 'write');
    this.router[spec.method](spec.path, async (ctx) => {
      const { principal, via } = ctx.state as RequestAuth;
      if (spec.method !== 'get') this.checkOrigin(ctx, via);
      if (spec.auth !== 'public') {
        if (principal.kind !== 'user') throw new DomainError('unauthenticated', 'sign in, or send a personal access token');
        if (spec.auth === 'admin' && !principal.user.isAdmin) throw new DomainError('forbidden', 'this needs an administrator');
        if (!hasScope(principal, scope)) throw new DomainError('insufficient_scope', `this token lacks the ${scope} scope`);
      }
      const params = parse(spec.params, ctx.params, 'path');
      const query = parse(spec.query, ctx.query, 'query');
      const body = spec.body ? parse(spec.body, (await readJson(ctx)) ?? {}, 'body') : (undefined as B);
      const bytes = spec.bytes ? await readBytes(ctx, spec.bytes.maxBytes) : undefined;
      const result = await handler({ params, query, body, bytes, principal, ctx });
      if (spec.produces) {
        const type = ctx.response.get('content-type');
        ctx.status = spec.status ?? 200;
        // The handler may name a more precise type (an export's format).
        ctx.type = typeof type === 'string' && type !== '' ? type : spec.produces;
        ctx.body = result instanceof Uint8Array ? Buffer.from(result.buffer, result.byteOffset, result.byteLength) : result;
      } else if (spec.response) {
        ctx.status = spec.status ?? 200;
        ctx.body = result;
      } else {
        ctx.status = spec.status ?? 204;
      }
    });
  }

  /**
   * Cookie-authenticated mutations must come from an allowed origin, or carry none at all
   * with a bearer token. Sign-in routes (no principal yet) refuse foreign origins too, which
   * stops login CSRF.
   */
  private checkOrigin(ctx: Context, via: RequestAuth['via']): void {
    if (via === 'bearer') return;
    const kind = classifyOrigin(ctx.req, this.auth);
    if (kind === 'foreign') throw new DomainError('bad_origin', 'requests from this origin may not use your session');
    if (kind === 'none' && via === 'cookie') {
      throw new DomainError('bad_origin', 'cookie-authenticated changes need an Origin header');
    }
  }

  /**
   * The OpenAPI 3.1 document of every declared route. Schemas given an id (`.meta({ id })`, in
   * shared/api.ts) are components, reached by $ref wherever they appear.
   */
  openapi(info: { title: string; version: string }): Json {
    const components: Record<string, unknown> = {};
    const jsonSchema = (schema: z.ZodType): Json => {
      const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
      const { $schema: _dialect, $defs, ...rest } = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
      for (const [id, def] of Object.entries(($defs ?? {}) as Json)) {
        if (components[id] !== undefined && JSON.stringify(components[id]) !== JSON.stringify(def)) throw new Error(`two schemas are named ${id}`);
        components[id] = def;
      }
      return rest;
    };
    const errorRef = jsonSchema(errorSchema);
    const paths: Record<string, Record<string, unknown>> = {};
    for (const spec of this.specs) {
      const path = spec.path.replace(/:(\w+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, schema] of [
        ['path', spec.params],
        ['query', spec.query],
      ] as const) {
        if (!schema) continue;
        const s = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, property] of Object.entries(s.properties ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: property });
        }
      }
      const status = String(spec.status ?? (spec.response || spec.produces ? 200 : 204));
      const byStatus = new Map<number, string[]>();
      for (const code of errorsOf(spec)) {
        const wire = wireCodeOf(code);
        const codes = byStatus.get(statusOf(code)) ?? [];
        if (!codes.includes(wire)) codes.push(wire);
        byStatus.set(statusOf(code), codes);
      }
      const errors = Object.fromEntries(
        [...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([errorStatus, codes]) => [
            String(errorStatus),
            {
              description: codes.sort().join(', '),
              content: {
                'application/json': {
                  schema: { allOf: [errorRef, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }] },
                },
              },
            },
          ]),
      );
      paths[path] ??= {};
      paths[path][spec.method] = {
        operationId: spec.operationId,
        summary: spec.summary,
        tags: [spec.tag],
        ...(spec.auth === 'public' ? { security: [] } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } } } : {}),
        ...(spec.bytes ? { requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } } : {}),
        responses: {
          [status]: spec.produces
            ? {
                description: 'success',
                content: { [spec.produces.split(';')[0]!]: { schema: { type: 'string', ...(spec.produces.startsWith('application/octet-stream') ? { format: 'binary' } : {}) } } },
              }
            : spec.response
              ? { description: 'success', content: { 'application/json': { schema: jsonSchema(spec.response) } } }
              : { description: 'success' },
          ...errors,
          default: { description: 'an unexpected error (500 internal_error)', content: { 'application/json': { schema: errorRef } } },
        },
      };
    }
    return {
      openapi: '3.1.0',
      info,
      components: {
        schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'tandem_session' },
          token: { type: 'http', scheme: 'bearer', description: 'a personal access token (tnd_…)' },
        },
      },
      security: [{ session: [] }, { token: [] }],
      paths,
    };
  }
}

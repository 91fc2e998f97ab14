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
import { readJson } from './body';
import { HttpError } from './http-error';
import { classifyOrigin } from './origin-policy';

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
  summary: string;
  tag: string;
  /** `public`: anyone; `user`: a signed-in user or token; `admin`: an admin with the admin scope. */
  auth: 'public' | 'user' | 'admin';
  /** The token scope needed (default: read for GET, write otherwise, admin for admin routes). */
  scope?: Scope;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response?: z.ZodType;
  /** Success status (default 200, or 204 when there is no response schema). */
  status?: number;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  ctx: Context;
}

/** The signed-in user of a route that requires one (the route's `auth` already checked it). */
export function userOf(principal: Principal): UserInfo {
  if (principal.kind !== 'user') throw new HttpError(401, 'unauthenticated', 'sign in first');
  return principal.user;
}

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, 'invalid_request', `invalid ${where}: ${describeIssues(result.error)}`);
  return result.data;
}

export class Api {
  private readonly specs: RouteSpec<unknown, unknown, unknown>[] = [];

  constructor(
    private readonly router: Router,
    private readonly auth: Pick<AuthOptions, 'publicUrl' | 'trustProxy' | 'extensionIds'>,
  ) {}

  route<P = undefined, Q = undefined, B = undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: (input: RouteInput<P, Q, B>) => Promise<unknown>,
  ): void {
    this.specs.push(spec as RouteSpec<unknown, unknown, unknown>);
    const scope: Scope = spec.scope ?? (spec.auth === 'admin' ? 'admin' : spec.method === 'get' ? 'read' : 'write');
    this.router[spec.method](spec.path, async (ctx) => {
      const { principal, via } = ctx.state as RequestAuth;
      if (spec.method !== 'get') this.checkOrigin(ctx, via);
      if (spec.auth !== 'public') {
        if (principal.kind !== 'user') throw new HttpError(401, 'unauthenticated', 'sign in, or send a personal access token');
        if (spec.auth === 'admin' && !principal.user.isAdmin) throw new HttpError(403, 'forbidden', 'this needs an administrator');
        if (!hasScope(principal, scope)) throw new HttpError(403, 'insufficient_scope', `this token lacks the ${scope} scope`);
      }
      const params = parse(spec.params, ctx.params, 'path');
      const query = parse(spec.query, ctx.query, 'query');
      const body = spec.body ? parse(spec.body, (await readJson(ctx)) ?? {}, 'body') : (undefined as B);
      const result = await handler({ params, query, body, principal, ctx });
      if (spec.response) {
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
    if (kind === 'foreign') throw new HttpError(403, 'bad_origin', 'requests from this origin may not use your session');
    if (kind === 'none' && via === 'cookie') {
      throw new HttpError(403, 'bad_origin', 'cookie-authenticated changes need an Origin header');
    }
  }

  /** The OpenAPI 3.1 document of every declared route. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const jsonSchema = (schema: z.ZodType): unknown => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
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
      const status = String(spec.status ?? (spec.response ? 200 : 204));
      paths[path] ??= {};
      paths[path][spec.method] = {
        summary: spec.summary,
        tags: [spec.tag],
        ...(spec.auth === 'public' ? { security: [] } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } } } : {}),
        responses: {
          [status]: spec.response
            ? { description: 'success', content: { 'application/json': { schema: jsonSchema(spec.response) } } }
            : { description: 'success' },
          default: { description: 'error', content: { 'application/json': { schema: jsonSchema(errorSchema) } } },
        },
      };
    }
    return {
      openapi: '3.1.0',
      info,
      components: {
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

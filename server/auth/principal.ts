/** Who is making a request or holding a socket. */
export interface UserInfo {
  id: string;
  email: string;
  displayName: string;
  isAdmin: boolean;
}

/** `metrics`: read `/metrics` and nothing else (for a scraper); like `admin`, only an administrator's token has it. */
export type Scope = 'read' | 'write' | 'admin' | 'metrics';

export type Principal = { kind: 'anonymous' } | { kind: 'user'; user: UserInfo; via: { kind: 'session'; sessionId: string } | { kind: 'token'; tokenId: string; scopes: Scope[] } };

export const anonymous: Principal = Object.freeze({ kind: 'anonymous' });

/** True when the principal may act with `scope` (sessions may do everything their user may). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  if (principal.kind !== 'user') return false;
  if ((scope === 'admin' || scope === 'metrics') && !principal.user.isAdmin) return false;
  return principal.via.kind === 'session' || principal.via.scopes.includes(scope);
}

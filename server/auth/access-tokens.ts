/**
 * Personal access tokens for scripts (`Authorization: Bearer tnd_…`): random, shown once,
 * stored as a SHA-256, scoped to read / write / admin / metrics, revocable. Validation is cached like
 * sessions, and revocation evicts the cache entry and the token's sockets through the bus.
 */
import type { Kysely } from 'kysely';
import { deleteAccessToken, deleteUserAccessTokens, findAccessTokenWithUser, insertAccessToken, listAccessTokens, touchAccessToken } from '../../db/repositories/access-tokens';
import type { Database } from '../../db/schema';
import type { AccessEventBus } from './access-events';
import type { Scope, UserInfo } from './principal';
import { hashSecret, randomId, randomSecret } from './secrets';

export const TOKEN_PREFIX = 'tnd_';
const CACHE_TTL_MS = 30_000;
/** `last_used_at` is written at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

export interface AccessTokenInfo {
  id: string;
  userId: string;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface ValidToken {
  tokenId: string;
  scopes: Scope[];
  user: UserInfo;
}

const parseScopes = (scopes: string): Scope[] => scopes.split(',').filter((s): s is Scope => s === 'read' || s === 'write' || s === 'admin' || s === 'metrics');

export class AccessTokenService {
  private readonly cache = new Map<string, { value: ValidToken; until: number; touched: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: AccessEventBus,
  ) {
    events.subscribe((event) => {
      if (event.type !== 'token_revoked' && event.type !== 'user_revoked') return;
      for (const [hash, entry] of this.cache) {
        if (event.type === 'token_revoked' ? entry.value.tokenId === event.tokenId : entry.value.user.id === event.userId) this.cache.delete(hash);
      }
    });
  }

  async create(userId: string, name: string, scopes: Scope[]): Promise<{ token: string; info: AccessTokenInfo }> {
    const token = `${TOKEN_PREFIX}${randomSecret()}`;
    const row = await insertAccessToken(this.db, { id: randomId(), userId, tokenHash: hashSecret(token), name, scopes: [...new Set(scopes)].join(',') });
    return { token, info: toInfo(row) };
  }

  async validate(token: string): Promise<ValidToken | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const hash = hashSecret(token);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) {
      if (now - cached.touched > TOUCH_EVERY_MS) {
        cached.touched = now;
        void this.touch(cached.value.tokenId);
      }
      return cached.value;
    }
    const row = await findAccessTokenWithUser(this.db, hash);
    if (!row || row.disabled_at) return null;
    const value: ValidToken = {
      tokenId: row.id,
      scopes: parseScopes(row.scopes),
      user: { id: row.user_id, email: row.email, displayName: row.display_name, isAdmin: row.is_admin },
    };
    this.cache.set(hash, { value, until: now + CACHE_TTL_MS, touched: now });
    void this.touch(row.id);
    return value;
  }

  private async touch(tokenId: string): Promise<void> {
    await touchAccessToken(this.db, tokenId).catch(() => undefined);
  }

  async list(userId: string): Promise<AccessTokenInfo[]> {
    return (await listAccessTokens(this.db, userId)).map(toInfo);
  }

  /** Revokes a token (of `userId`, when given). Returns false when there was none. */
  async revoke(tokenId: string, userId?: string): Promise<boolean> {
    if ((await deleteAccessToken(this.db, tokenId, userId)) === 0) return false;
    this.events.publish({ type: 'token_revoked', tokenId });
    return true;
  }

  /** Revokes every token of a user; returns how many there were. */
  async revokeAll(userId: string): Promise<number> {
    const ids = await deleteUserAccessTokens(this.db, userId);
    for (const id of ids) this.events.publish({ type: 'token_revoked', tokenId: id });
    return ids.length;
  }
}

function toInfo(row: { id: string; user_id: string; name: string; scopes: string; created_at: Date; last_used_at: Date | null }): AccessTokenInfo {
  return { id: row.id, userId: row.user_id, name: row.name, scopes: parseScopes(row.scopes), createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

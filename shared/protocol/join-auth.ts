/**
 * Tandem's JoinRequest `auth` payload (loro-protocol leaves its content to applications):
 * empty, or UTF-8 JSON `{"v":1,"share":"sh_…"}` carrying the share token of a link. Who the
 * socket is (session, ticket, token) is settled at the upgrade; this only adds link access.
 */
export const JOIN_AUTH_VERSION = 1;

export interface JoinAuth {
  /** The share token from a link's #fragment, when joining through a link. */
  share?: string;
}

export function encodeJoinAuth(auth: JoinAuth): Uint8Array {
  if (!auth.share) return new Uint8Array(0);
  return new TextEncoder().encode(JSON.stringify({ v: JOIN_AUTH_VERSION, share: auth.share }));
}

/** Parses the payload; `null` when it is not one (the join is then refused as auth_failed). */
export function decodeJoinAuth(bytes: Uint8Array): JoinAuth | null {
  if (bytes.length === 0) return {};
  if (bytes.length > 1024) return null;
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { v, share } = value as { v?: unknown; share?: unknown };
    if (v !== JOIN_AUTH_VERSION) return null;
    if (share !== undefined && typeof share !== 'string') return null;
    return share ? { share } : {};
  } catch {
    return null;
  }
}

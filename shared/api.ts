/**
 * The REST API's request and response shapes (zod), shared by the server (validation and the
 * OpenAPI document) and its clients (the extension). Objects are strict: unknown fields are
 * refused rather than ignored.
 */
import { z } from 'zod';

export const email = z.string().trim().max(254).pipe(z.email());
/** Long enough to resist guessing, short enough to hash cheaply (scrypt's cost does not depend on it). */
export const password = z.string().min(8).max(1024);
export const displayName = z.string().trim().min(1).max(100);
export const id = z.string().regex(/^[a-z2-7]{1,64}$/, 'not an id');
export const docId = z.string().regex(/^[a-z2-7]{26}$/, 'not a document id');
export const title = z.string().trim().max(300);
export const scope = z.enum(['read', 'write', 'admin']);

export const user = z.object({ id: z.string(), email: z.string(), displayName: z.string(), isAdmin: z.boolean() });

export const signUpBody = z.strictObject({ email, password, displayName: displayName.optional() });
export const signInBody = z.strictObject({ email, password: z.string().min(1).max(1024) });
export const changePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: password });

export const session = z.object({
  id: z.string(),
  current: z.boolean(),
  createdAt: z.string(),
  expiresAt: z.string(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
});

export const accessToken = z.object({ id: z.string(), name: z.string(), scopes: z.array(scope), createdAt: z.string(), lastUsedAt: z.string().nullable() });
export const createTokenBody = z.strictObject({ name: z.string().trim().min(1).max(100), scopes: z.array(scope).min(1) });
export const createdToken = accessToken.extend({ token: z.string() });

export const syncTicket = z.object({ ticket: z.string(), expiresAt: z.string(), url: z.string() });

export const role = z.enum(['owner', 'editor', 'viewer']);
export const document = z.object({
  id: z.string(),
  title: z.string(),
  role: role.nullable(),
  permission: z.enum(['read', 'write']),
  ownerId: z.string().nullable(),
  originUrl: z.string().nullable(),
  originField: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const createDocumentBody = z.strictObject({
  title: title.default(''),
  /** The field's text when collaboration starts. */
  text: z.string().max(1_000_000).default(''),
  originUrl: z.url().max(2048).optional(),
  /** A locator of the field on that page (the extension's format). */
  originField: z.string().max(4096).optional(),
});
/** The share token from a link's #fragment (POSTed, so it never lands in a URL or an access log). */
export const openDocumentBody = z.strictObject({ share: z.string().max(200) });
export const renameDocumentBody = z.strictObject({ title });

export const member = z.object({ userId: z.string(), email: z.string(), displayName: z.string(), role });
export const setMemberBody = z.strictObject({ email, role: z.enum(['editor', 'viewer']) });

export const linkAccess = z.enum(['view', 'edit']);
export const shareLink = z.object({ id: z.string(), access: linkAccess, createdAt: z.string(), revoked: z.boolean() });
export const createdShareLink = shareLink.extend({ token: z.string(), url: z.string() });
export const createLinkBody = z.strictObject({ access: linkAccess });

export const page = z.strictObject({
  query: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Builds the link a share token travels in: the token stays in the fragment, never sent to servers. */
export function shareUrl(origin: string, documentId: string, token: string): string {
  return `${origin}/d/${documentId}#${token}`;
}

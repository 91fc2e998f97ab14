/**
 * The REST API's request and response shapes (zod), shared by the server (validation and the
 * OpenAPI document) and its clients (the extension). Objects are strict: unknown fields are
 * refused rather than ignored.
 */
import { z } from 'zod';

export const email = z.string().trim().max(254).pipe(z.email()).meta({ format: 'email' });
/** An email the server sends (already checked when it was given). */
const emailOut = z.string().meta({ format: 'email' });
/** Long enough to resist guessing, short enough to hash cheaply (scrypt's cost does not depend on it). */
export const password = z.string().min(8).max(1024);
/**
 * Names other people see (presence, members): NFC-normalised, and no control or format
 * characters: bidi overrides and zero-width characters let one name pass for another.
 */
export const displayName = z
  .string()
  .trim()
  .normalize('NFC')
  .min(1)
  .max(100)
  .refine((name) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}]/u.test(name), 'control, format and bidi characters are not allowed in names');
export const id = z.string().regex(/^[a-z2-7]{1,64}$/, 'not an id');
export const docId = z.string().regex(/^[a-z2-7]{26}$/, 'not a document id');
export const title = z.string().trim().max(300);
export const scope = z.enum(['read', 'write', 'admin', 'metrics']).meta({ id: 'Scope' });

export const user = z.object({ id: z.string(), email: emailOut, displayName: z.string(), isAdmin: z.boolean() }).meta({ id: 'User' });

export const signUpBody = z.strictObject({ email, password, displayName: displayName.optional() });
export const signInBody = z.strictObject({ email, password: z.string().min(1).max(1024) });
export const changePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: password,
  /** Also revoke every personal access token of the account (sessions other than this one end anyway). */
  revokeTokens: z.boolean().default(false),
});
/** An administrator creates an account; without a password, one is generated and returned once. */
export const createUserBody = z.strictObject({ email, password: password.optional(), displayName: displayName.optional() });

export const session = z
  .object({
    id: z.string(),
    current: z.boolean(),
    createdAt: z.string(),
    expiresAt: z.string(),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
  })
  .meta({ id: 'Session' });

export const accessToken = z.object({ id: z.string(), name: z.string(), scopes: z.array(scope), createdAt: z.string(), lastUsedAt: z.string().nullable() }).meta({ id: 'AccessToken' });
export const createTokenBody = z.strictObject({ name: z.string().trim().min(1).max(100), scopes: z.array(scope).min(1) });
export const createdToken = accessToken.extend({ token: z.string() }).meta({ id: 'CreatedAccessToken' });

export const syncTicket = z.object({ ticket: z.string(), expiresAt: z.string(), url: z.string() }).meta({ id: 'SyncTicket' });

export const role = z.enum(['owner', 'editor', 'viewer']).meta({ id: 'Role' });
export const document = z
  .object({
    id: z.string(),
    title: z.string(),
    role: role.nullable(),
    permission: z.enum(['read', 'write']),
    ownerId: z.string().nullable(),
    originUrl: z.string().nullable(),
    originField: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Document' });
export const createDocumentBody = z.strictObject({
  title: title.default(''),
  /** The field's text when collaboration starts. */
  text: z.string().max(1_000_000).default(''),
  /** The page it was written on: http(s) only (a javascript:, data: or file: URL is no page others can open). */
  originUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  /** A locator of the field on that page (the extension's format). */
  originField: z.string().max(4096).optional(),
});
/** The share token from a link's #fragment (POSTed, so it never lands in a URL or an access log). */
export const openDocumentBody = z.strictObject({ share: z.string().max(200) });
export const renameDocumentBody = z.strictObject({ title });

export const member = z.object({ userId: z.string(), email: emailOut, displayName: z.string(), role }).meta({ id: 'Member' });
export const setMemberBody = z.strictObject({ email, role: z.enum(['editor', 'viewer']) });

export const linkAccess = z.enum(['view', 'edit']).meta({ id: 'LinkAccess' });
export const shareLink = z.object({ id: z.string(), access: linkAccess, createdAt: z.string(), revoked: z.boolean() }).meta({ id: 'ShareLink' });
export const createdShareLink = shareLink.extend({ token: z.string(), url: z.string() }).meta({ id: 'CreatedShareLink' });
export const createLinkBody = z.strictObject({ access: linkAccess });

export const versionAuthor = z.object({
  key: z.string(),
  kind: z.enum(['user', 'link', 'unknown']),
  userId: z.string().nullable(),
  name: z.string(),
});
/** One version of a document's history: consecutive edits by the same people. */
export const version = z.object({
  /** Stable id of the version (its first log entry). */
  id: z.number().int(),
  /** The last log entry it covers. */
  seq: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string(),
  authors: z.array(versionAuthor),
  /** Characters inserted and deleted, and marks set. */
  changes: z.number().int(),
  name: z.string().nullable(),
});
export const richRun = z.object({ insert: z.string(), attributes: z.record(z.string(), z.unknown()).optional() });
export const versionContent = z.object({
  version,
  text: z.string(),
  /** The text with its formatting, as runs (a Loro text delta). */
  runs: z.array(richRun),
  /** Who wrote the text, as consecutive runs of characters. */
  authors: z.array(z.object({ author: versionAuthor, length: z.number().int() })),
});
export const versionDiff = z.object({ parts: z.array(z.object({ op: z.enum(['equal', 'insert', 'delete']), text: z.string() })) });
export const versionId = z.coerce.number().int().min(1);
export const nameVersionBody = z.strictObject({ name: z.string().trim().min(1).max(200) });
export const exportFormat = z.enum(['text', 'markdown', 'html']);
export const importDocumentBody = z.strictObject({
  title: title.default(''),
  format: z.enum(['snapshot', 'text', 'markdown']),
  /** The text or Markdown, or the snapshot in base64. */
  content: z.string().max(1_500_000),
});

export const page = z.strictObject({
  query: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Builds the link a share token travels in: the token stays in the fragment, never sent to servers. */
export function shareUrl(origin: string, documentId: string, token: string): string {
  return `${origin}/d/${documentId}#${token}`;
}

/**
 * Document ids: 128 random bits, base32 (lowercase, no padding), so 26 characters of
 * [a-z2-7]. They double as loro-protocol room ids (well under the 128-byte limit).
 */
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

const DOCUMENT_ID = /^[a-z2-7]{26}$/;

/** A fresh random document id. */
export function newDocumentId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

/** True when `value` has the shape of a document id (it may still not exist). */
export function isDocumentId(value: string): boolean {
  return DOCUMENT_ID.test(value);
}

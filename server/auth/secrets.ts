/** Random secrets and their stored form (SHA-256, hex), per the Lucia guide. */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';

/** A random secret: `bytes` random bytes in base32 (20 bytes = 160 bits, 32 characters). */
export function randomSecret(bytes = 20): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return encodeBase32LowerCaseNoPadding(buffer);
}

/** What is stored in place of a secret: its SHA-256 in hex. */
export function hashSecret(secret: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

/** A public id for rows that have a secret elsewhere (tokens, links): 10 random bytes. */
export function randomId(): string {
  return randomSecret(10);
}

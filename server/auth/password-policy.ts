/**
 * Which passwords are refused: shorter than 8 characters (the API schema), one of the 10,000
 * most common passwords of 8 characters or more, or the account's own email (or the part
 * before the @). The list is the head of zxcvbn's common-password dictionary
 * (@zxcvbn-ts/language-common 4.1.3, MIT, © Dan Wheeler, Dropbox and @zxcvbn-ts), most
 * common first, kept as a file so the server needs no dependency for it.
 */
import { readFileSync } from 'node:fs';
import { DomainError } from '../errors';

let common: ReadonlySet<string> | null = null;

function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter((p) => p.length > 0),
  );
  return common;
}

/** Why `password` may not be used by `email`'s account, or null when it may. */
export function passwordProblem(password: string, email: string): string | null {
  const folded = password.normalize('NFKC').toLowerCase();
  const address = email.toLowerCase();
  if (folded === address || folded === address.split('@')[0]) return 'the password may not be your email address';
  if (commonPasswords().has(folded)) return 'this password is one of the most common ones; choose another';
  return null;
}

/** Throws 400 `weak_password` when `password` may not be used. */
export function assertPasswordAllowed(password: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw new DomainError('weak_password', problem);
}

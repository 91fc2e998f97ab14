/**
 * Password hashing with scrypt (memory-hard, built into Node). The stored string carries its
 * parameters, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64), so the cost can be raised later
 * and old hashes still verify (and are re-hashed at the next sign-in).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptCost {
  /** log2 of N. 16 (64 MiB with r = 8) by default; OWASP's minimum is 2^17 with r = 8 at p = 1,
   *  or equivalent: we trade a little of it for two-core servers and say so. */
  log2N: number;
  r: number;
  p: number;
}

export const defaultScryptCost: ScryptCost = { log2N: 16, r: 8, p: 1 };

const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, cost: ScryptCost = defaultScryptCost): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return ['scrypt', cost.log2N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Checks a password; `rehash` is true when the stored hash uses other parameters than `cost`. */
export async function verifyPassword(stored: string, password: string, cost: ScryptCost = defaultScryptCost): Promise<{ ok: boolean; rehash: boolean }> {
  const [scheme, log2N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !log2N || !r || !p || !salt || !hash) return { ok: false, rehash: false };
  const storedCost = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), storedCost);
  const ok = key.length === expected.length && timingSafeEqual(key, expected);
  const rehash = storedCost.log2N !== cost.log2N || storedCost.r !== cost.r || storedCost.p !== cost.p;
  return { ok, rehash };
}

/** A hash of nothing, checked against when an account does not exist, so both take as long. */
let decoy: Promise<string> | null = null;
export function decoyHash(cost: ScryptCost = defaultScryptCost): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'), cost);
  return decoy;
}

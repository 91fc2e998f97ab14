/**
 * Throttles password guessing, in the database (so every node sees the same counts).
 *
 * The unit is the pair (account, client address): after a few free failures, each further
 * attempt from that address on that account must wait twice as long as the one before (1 s,
 * 2 s, 4 s … up to 15 minutes), until a success or a day without failures resets it. An
 * address is also limited over all accounts (password spraying). There is deliberately no
 * lock per account alone: that let anyone lock anyone out with ten wrong passwords, renewed
 * forever. The cost is that an attacker with many addresses gets a few guesses per address;
 * what bounds that is the per-address limits, the cost of scrypt with a bounded number of
 * hashes at once (password-hasher.ts), and the refusal of common passwords
 * (password-policy.ts). Failures per account are still counted, and logged when they pile up.
 *
 * An attempt is counted before the password is checked and given back on success, so
 * concurrent attempts cannot all slip through a free slot.
 */
import type { Kysely } from 'kysely';
import { backedOffWait, countAttempt, countAttemptBelow, deleteCounter, giveBackAttempt, sweepCounters, takeBackedOffAttempt, type Backoff } from '../../db/repositories/login-failures';
import type { Database } from '../../db/schema';

const WINDOW_MS = 15 * 60 * 1000;
/** Failures from one address on one account before delays start. */
export const FREE_FAILURES_PER_PAIR = 3;
/** The longest delay between two attempts of one pair. */
export const MAX_PAIR_DELAY_S = 15 * 60;
/** A pair's count is forgotten after this long without a failure. */
const PAIR_MEMORY_S = 24 * 3600;
/** Failed sign-ins one address may make per 15 minutes, over all accounts. */
export const MAX_FAILURES_PER_IP = 100;
/** Failures on one account per 15 minutes (from anywhere) after which it is logged as attacked. */
export const ACCOUNT_ALERT_FAILURES = 50;

/** Pair rows all use this window: they expire by `last_at`, not by window. */
const PAIR_WINDOW = new Date(0);

const PAIR_BACKOFF: Backoff = { free: FREE_FAILURES_PER_PAIR, maxDelayS: MAX_PAIR_DELAY_S, memoryS: PAIR_MEMORY_S };

export const pairKey = (email: string, ip: string): string => `pair:${email} ${ip}`;

export type AttemptDecision = { ok: true } | { ok: false; retryAfter: number };

export class LoginThrottle {
  constructor(private readonly db: Kysely<Database>) {}

  private window(now = Date.now()): Date {
    return new Date(Math.floor(now / WINDOW_MS) * WINDOW_MS);
  }

  /**
   * Takes an attempt of `email` from `ip`, or says how many seconds to wait. A taken attempt
   * counts as a failure until `succeeded` gives it back.
   */
  async attempt(email: string, ip: string): Promise<AttemptDecision> {
    const windowStart = this.window();
    if ((await countAttemptBelow(this.db, `ip:${ip}`, windowStart, MAX_FAILURES_PER_IP)) === null) {
      return { ok: false, retryAfter: Math.ceil((windowStart.getTime() + WINDOW_MS - Date.now()) / 1000) };
    }
    if (await takeBackedOffAttempt(this.db, pairKey(email, ip), PAIR_WINDOW, PAIR_BACKOFF)) return { ok: true };
    // Refused: give the address its attempt back, and say when the pair may try again.
    await giveBackAttempt(this.db, `ip:${ip}`, windowStart);
    const wait = await backedOffWait(this.db, pairKey(email, ip), PAIR_WINDOW, PAIR_BACKOFF);
    return { ok: false, retryAfter: Math.max(1, Math.ceil(wait ?? 1)) };
  }

  /** The attempt failed: counts towards the account's figure; returns its failures this window. */
  async failed(email: string): Promise<number> {
    const failures = await countAttempt(this.db, `email:${email}`, this.window());
    if (Math.random() < 0.01) {
      await sweepCounters(this.db, { timeless: PAIR_WINDOW, windowsBefore: new Date(Date.now() - 2 * WINDOW_MS), unusedSince: new Date(Date.now() - PAIR_MEMORY_S * 1000) });
    }
    return failures;
  }

  /** The attempt succeeded: the pair starts afresh and the address gets its attempt back. */
  async succeeded(email: string, ip: string): Promise<void> {
    await deleteCounter(this.db, pairKey(email, ip));
    await giveBackAttempt(this.db, `ip:${ip}`, this.window());
  }

  /** The attempt was never checked (the server was busy): it counts for nothing. */
  async cancel(email: string, ip: string): Promise<void> {
    await giveBackAttempt(this.db, pairKey(email, ip), PAIR_WINDOW);
    await giveBackAttempt(this.db, `ip:${ip}`, this.window());
  }
}

/** Sign-ups one address may make per hour (counted when tried, so concurrent ones count too). */
export class SignUpThrottle {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly perHour: number,
  ) {}

  /** Takes a sign-up of `ip`; returns 0, or the seconds until it may try again. */
  async take(ip: string): Promise<number> {
    const hour = 3600 * 1000;
    const windowStart = new Date(Math.floor(Date.now() / hour) * hour);
    const failures = await countAttempt(this.db, `signup:${ip}`, windowStart);
    return failures > this.perHour ? Math.ceil((windowStart.getTime() + hour - Date.now()) / 1000) : 0;
  }
}

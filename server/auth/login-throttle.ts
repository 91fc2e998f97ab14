/**
 * Throttles password guessing: failed sign-ins are counted per account and per client address
 * in fixed 15-minute windows, in the database (so every node sees the same counts). Over the
 * limit, sign-in is refused without checking the password until the window ends.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema';

const WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 10;
export const MAX_FAILURES_PER_IP = 100;

export class LoginThrottle {
  constructor(private readonly db: Kysely<Database>) {}

  private window(now = Date.now()): Date {
    return new Date(Math.floor(now / WINDOW_MS) * WINDOW_MS);
  }

  /** Seconds until sign-in may be tried again, or 0 when it may be tried now. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const windowStart = this.window();
    const rows = await this.db
      .selectFrom('login_failures')
      .select(['key', 'failures'])
      .where('window_start', '=', windowStart)
      .where('key', 'in', [`email:${email}`, `ip:${ip}`])
      .execute();
    const blocked = rows.some((r) => r.failures >= (r.key.startsWith('email:') ? MAX_FAILURES_PER_ACCOUNT : MAX_FAILURES_PER_IP));
    return blocked ? Math.ceil((windowStart.getTime() + WINDOW_MS - Date.now()) / 1000) : 0;
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const windowStart = this.window();
    for (const key of [`email:${email}`, `ip:${ip}`]) {
      await this.db
        .insertInto('login_failures')
        .values({ key, window_start: windowStart, failures: 1 })
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ failures: sql`login_failures.failures + 1` }))
        .execute();
    }
    if (Math.random() < 0.01) await this.db.deleteFrom('login_failures').where('window_start', '<', new Date(windowStart.getTime() - WINDOW_MS)).execute();
  }

  /** A successful sign-in clears the account's count (not the address's). */
  async recordSuccess(email: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', `email:${email}`).execute();
  }
}

/**
 * Counters of sign-in and sign-up attempts (`login_failures`, keyed by what is counted and a
 * window). Each function is one atomic statement, so concurrent attempts on several nodes
 * count exactly; the throttle's policy (auth/login-throttle.ts) passes its limits in.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema';

type Db = Kysely<Database> | Transaction<Database>;

/** Adds one to a counter; returns its new value. */
export async function countAttempt(db: Db, key: string, windowStart: Date): Promise<number> {
  const row = await db
    .insertInto('login_failures')
    .values({ key, window_start: windowStart, failures: 1 })
    .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ failures: sql`login_failures.failures + 1`, last_at: sql`now()` }))
    .returning('failures')
    .executeTakeFirstOrThrow();
  return row.failures;
}

/** Adds one to a counter unless it has reached `max`; returns the new value, or null when refused. */
export async function countAttemptBelow(db: Db, key: string, windowStart: Date, max: number): Promise<number | null> {
  const row = await db
    .insertInto('login_failures')
    .values({ key, window_start: windowStart, failures: 1 })
    .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ failures: sql`login_failures.failures + 1`, last_at: sql`now()` }).where('login_failures.failures', '<', max))
    .returning('failures')
    .executeTakeFirst();
  return row?.failures ?? null;
}

/** How a pair's attempts are spaced: free ones, then delays doubling up to a cap; forgotten after a quiet spell. */
export interface Backoff {
  free: number;
  maxDelayS: number;
  memoryS: number;
}

const stale = (b: Backoff) => sql<boolean>`login_failures.last_at < now() - make_interval(secs => ${b.memoryS})`;
const delay = (b: Backoff) => sql`make_interval(secs => least(power(2, login_failures.failures - ${b.free}), ${b.maxDelayS}))`;

/**
 * Takes an attempt of a backed-off counter: allowed when it is still free, its delay has
 * passed, or it was forgotten (then it starts again at one). False when refused.
 */
export async function takeBackedOffAttempt(db: Db, key: string, windowStart: Date, backoff: Backoff): Promise<boolean> {
  const due = sql<boolean>`login_failures.last_at + ${delay(backoff)} <= now()`;
  const row = await db
    .insertInto('login_failures')
    .values({ key, window_start: windowStart, failures: 1 })
    .onConflict((oc) =>
      oc
        .columns(['key', 'window_start'])
        .doUpdateSet({ failures: sql`case when ${stale(backoff)} then 1 else login_failures.failures + 1 end`, last_at: sql`now()` })
        .where(sql<boolean>`${stale(backoff)} or login_failures.failures < ${backoff.free} or ${due}`),
    )
    .returning('failures')
    .executeTakeFirst();
  return row !== undefined;
}

/** Seconds until a backed-off counter's next attempt is due (null when there is no counter). */
export async function backedOffWait(db: Db, key: string, windowStart: Date, backoff: Backoff): Promise<number | null> {
  const row = await db
    .selectFrom('login_failures')
    .select(sql<number>`extract(epoch from (last_at + make_interval(secs => least(power(2, failures - ${backoff.free}), ${backoff.maxDelayS})) - now()))`.as('wait'))
    .where('key', '=', key)
    .where('window_start', '=', windowStart)
    .executeTakeFirst();
  return row ? Number(row.wait) : null;
}

/** Takes one back from a counter (never below zero). */
export async function giveBackAttempt(db: Db, key: string, windowStart: Date): Promise<void> {
  await db.updateTable('login_failures').set({ failures: sql`greatest(failures - 1, 0)` }).where('key', '=', key).where('window_start', '=', windowStart).execute();
}

/** Deletes a counter, whatever its window. */
export async function deleteCounter(db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', key).execute();
}

/** Deletes windowed counters older than `windowsBefore` and any counter unused since `unusedSince` (`timeless`: the window of counters that expire by use). */
export async function sweepCounters(db: Db, { timeless, windowsBefore, unusedSince }: { timeless: Date; windowsBefore: Date; unusedSince: Date }): Promise<void> {
  await db
    .deleteFrom('login_failures')
    .where((eb) => eb.or([eb.and([eb('window_start', '>', timeless), eb('window_start', '<', windowsBefore)]), eb('last_at', '<', unusedSince)]))
    .execute();
}

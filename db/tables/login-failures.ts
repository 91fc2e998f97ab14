import type { Generated } from 'kysely';

/**
 * Counted attempts per key and time window, for throttling: failed sign-ins (`ip:…`,
 * `email:…`, `pair:<email> <ip>`) and sign-ups (`signup:<ip>`).
 */
export interface LoginFailuresTable {
  key: string;
  window_start: Date;
  failures: number;
  /** When the key last counted (progressive delays run from it). */
  last_at: Generated<Date>;
}

/**
 * Bounds the password hashing a node does at once. scrypt at the default cost takes ~0.2 s
 * and 64 MiB per hash; forty concurrent sign-ups used to queue every sign-in behind them on
 * libuv's four threads (a real sign-in took 5 s). Here at most `concurrency` hashes run at
 * once, the rest wait in two lanes, sign-ins (and password checks) before sign-ups, and when
 * `maxQueued` are waiting, the next request is refused at once with 503 `busy`.
 */
import { DomainError } from '../errors';
import { decoyHash, hashPassword, verifyPassword, type ScryptCost } from './passwords';

/** Whose hash it is: people signing in go first. */
export type HashLane = 'sign_in' | 'sign_up';

export interface PasswordHasherOptions {
  cost: ScryptCost;
  /** Hashes running at once (each holds a libuv thread and 64 MiB at the default cost). */
  concurrency: number;
  /** Hashes waiting, both lanes together, before new ones are refused. */
  maxQueued: number;
}

export class PasswordHasher {
  private running = 0;
  private readonly lanes: Record<HashLane, (() => void)[]> = { sign_in: [], sign_up: [] };

  constructor(private readonly options: PasswordHasherOptions) {}

  get cost(): ScryptCost {
    return this.options.cost;
  }

  /** Hashes running and waiting now. */
  stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.lanes.sign_in.length + this.lanes.sign_up.length };
  }

  hash(password: string, lane: HashLane): Promise<string> {
    return this.run(lane, () => hashPassword(password, this.options.cost));
  }

  verify(stored: string, password: string, lane: HashLane = 'sign_in'): Promise<{ ok: boolean; rehash: boolean }> {
    return this.run(lane, () => verifyPassword(stored, password, this.options.cost));
  }

  /** A hash to check against when an account does not exist, so both cases take as long. */
  decoy(): Promise<string> {
    return decoyHash(this.options.cost);
  }

  private async run<T>(lane: HashLane, task: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.concurrency) {
      if (this.stats().queued >= this.options.maxQueued) {
        throw new DomainError('busy', 'the server is busy checking passwords; try again in a moment', 1);
      }
      await new Promise<void>((resolve) => this.lanes[lane].push(resolve));
    } else this.running += 1;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (sign-ins first), or free it.
      const next = this.lanes.sign_in.shift() ?? this.lanes.sign_up.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

/**
 * What one client address and one account may hold on this node, over all their sockets:
 * open sockets, and joins per second. Limits per socket alone let one address open sockets
 * until memory ran out, and rejoin through fresh sockets as fast as it liked.
 *
 * Counted per node: with N nodes behind a load balancer an address may hold up to N times as
 * much; the limits are about what one process can be made to hold.
 */
import type { SyncOptions } from '../config';
import { TokenBucket } from './token-bucket';

export type SocketLimitOptions = Pick<SyncOptions, 'maxSocketsPerAddress' | 'maxSocketsPerAccount' | 'addressJoinBurst' | 'addressJoinsPerSecond'>;

export class SocketLimits {
  private readonly perAddress = new Map<string, number>();
  private readonly perAccount = new Map<string, number>();
  private readonly joinBuckets = new Map<string, TokenBucket>();

  constructor(private readonly options: SocketLimitOptions) {}

  /** Takes a socket slot of `address` (upgrades in progress count); false when it has none left. */
  admitAddress(address: string): boolean {
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.options.maxSocketsPerAddress) return false;
    this.perAddress.set(address, n + 1);
    return true;
  }

  releaseAddress(address: string): void {
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(address, n);
    else {
      this.perAddress.delete(address);
      this.joinBuckets.delete(address);
    }
  }

  /** Takes a socket slot of an account; false when it has none left. */
  admitAccount(userId: string): boolean {
    const n = this.perAccount.get(userId) ?? 0;
    if (n >= this.options.maxSocketsPerAccount) return false;
    this.perAccount.set(userId, n + 1);
    return true;
  }

  releaseAccount(userId: string): void {
    const n = (this.perAccount.get(userId) ?? 1) - 1;
    if (n > 0) this.perAccount.set(userId, n);
    else this.perAccount.delete(userId);
  }

  /** Takes a join of `address` (shared by all its sockets); false when it must wait. */
  takeJoin(address: string): boolean {
    let bucket = this.joinBuckets.get(address);
    if (!bucket) this.joinBuckets.set(address, (bucket = new TokenBucket(this.options.addressJoinBurst, this.options.addressJoinsPerSecond)));
    return bucket.take();
  }

  /** Sockets of an address now (for tests and stats). */
  socketsOf(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }
}

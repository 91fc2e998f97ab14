/** A bus on Redis pub/sub (channel TANDEM_BUS_CHANNEL, `tandem` by default), for clusters that prefer it to Postgres NOTIFY. */
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { BaseBus, type BusMessage } from './bus';

export class RedisBus extends BaseBus {
  override readonly relaysEdits = true;
  /**
   * Redis takes far larger messages than NOTIFY; 64 KiB lets a large paste cross ahead of its
   * commit without one message holding up the others for long.
   */
  override readonly maxMessageBytes = 64 * 1024;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readyOnce = false;
  private readonly channel: string;

  constructor(
    nodeId: string,
    private readonly options: { url: string; log: Logger; channel?: string },
  ) {
    super(nodeId, options.log);
    this.channel = options.channel ?? 'tandem';
    const common = { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.publisher = new Redis(options.url, common);
    this.subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true });
    for (const r of [this.publisher, this.subscriber]) r.on('error', (error: Error) => options.log.warn('bus.redis_error', { error }));
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.channel) this.deliver(payload);
    });
    this.subscriber.on('ready', () => {
      // ioredis resubscribes by itself; messages sent while disconnected are lost.
      if (this.readyOnce) this.reconnected();
      this.readyOnce = true;
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(this.channel);
  }

  publish(message: BusMessage): void {
    this.publisher.publish(this.channel, JSON.stringify(message)).catch((error: unknown) => this.options.log.warn('bus.publish_failed', { error }));
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}

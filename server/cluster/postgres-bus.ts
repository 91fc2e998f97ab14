/**
 * The default bus: Postgres LISTEN/NOTIFY on channel TANDEM_BUS_CHANNEL (`tandem` by default). NOTIFY is sent outside any
 * write transaction (it takes a cluster-wide lock at commit) and doorbells are batched per
 * tick. The listener is one dedicated connection that reconnects by itself.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../../db/schema';
import type { Logger } from '../logger';
import { BaseBus, type BusMessage } from './bus';

export class PostgresBus extends BaseBus {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private connecting: Promise<void> | null = null;

  constructor(
    nodeId: string,
    private readonly options: { url: string; db: Kysely<Database>; log: Logger; channel?: string },
  ) {
    super(nodeId, options.log);
    // Checked by config.ts to be a plain identifier: it is spliced into LISTEN.
    this.channel = options.channel ?? 'tandem';
  }

  private readonly channel: string;

  /** Connects the listener; resolves once LISTEN is in place. */
  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 3_000 });
    client.on('notification', (n) => {
      if (n.channel === this.channel && n.payload) this.deliver(n.payload);
    });
    const lost = (error?: Error): void => {
      if (this.client !== client) return;
      this.client = null;
      client.removeAllListeners('end');
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.log.warn('bus.listener_lost', { error });
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      if (!this.closed) {
        this.options.log.warn('bus.listen_failed', { error, retryInMs: this.retryMs });
        this.scheduleReconnect();
      }
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    const wasReconnect = this.retryMs > 100;
    this.retryMs = 100;
    this.client = client;
    // Doorbells sent while we were not listening are lost: have every room check its head.
    if (wasReconnect) this.reconnected();
  }

  private scheduleReconnect(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    setTimeout(() => void this.start(), delay).unref();
  }

  publish(message: BusMessage): void {
    const payload = JSON.stringify(message);
    if (Buffer.byteLength(payload) > this.maxMessageBytes) {
      this.options.log.warn('bus.message_too_large', { type: message.type, bytes: Buffer.byteLength(payload) });
      return;
    }
    sql`select pg_notify(${this.channel}, ${payload})`.execute(this.options.db).catch((error: unknown) => this.options.log.warn('bus.notify_failed', { error }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}

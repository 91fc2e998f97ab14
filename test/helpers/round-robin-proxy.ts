/**
 * A round-robin TCP load balancer for tests: each new connection goes to the next upstream
 * that accepts it, as an L4 balancer in front of several nodes would.
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class RoundRobinProxy {
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private upstreams: number[],
  ) {}

  static async start(upstreams: number[]): Promise<RoundRobinProxy> {
    let proxy: RoundRobinProxy | null = null;
    const server = createServer((client) => proxy!.route(client, 0));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RoundRobinProxy(server, (server.address() as AddressInfo).port, upstreams);
    return proxy;
  }

  /** Replaces the upstream ports (a node restarted on another port). */
  setUpstreams(ports: number[]): void {
    this.upstreams = ports;
  }

  private route(client: Socket, tried: number): void {
    if (tried >= this.upstreams.length) {
      client.destroy();
      return;
    }
    const port = this.upstreams[this.next++ % this.upstreams.length]!;
    const upstream = createConnection({ host: '127.0.0.1', port });
    client.pause();
    upstream.once('error', () => {
      // That node is down: try the next one.
      upstream.destroy();
      this.route(client, tried + 1);
    });
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

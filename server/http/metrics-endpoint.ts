/**
 * `GET /metrics`: the Prometheus text of one node. On the main port it needs a token with the
 * `metrics` or `admin` scope (app.ts); on TANDEM_METRICS_ADDR it is served to whoever reaches
 * that address, and nothing else is. Nothing here resets a figure.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/**
 * The exposition. `gc`: collect garbage first, when node runs with --expose-gc (benchmarks read
 * memory after it); a no-op in production, where `gc` is not exposed.
 */
export async function metricsText(metrics: Metrics, gc: boolean): Promise<string> {
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  return metrics.text();
}

export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/metrics` alone on `host:port` (port 0: any free one). */
export async function listenForMetrics(metrics: Metrics, address: { host: string; port: number }, log: Logger): Promise<MetricsListener> {
  const answer = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://metrics');
    if (url.pathname !== '/metrics') return answer(res, 404, 'only /metrics is served here\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'GET only\n');
    metricsText(metrics, url.searchParams.get('gc') === '1').then(
      (text) => answer(res, 200, text, metrics.contentType),
      (error: unknown) => {
        log.error('metrics.failed', { error });
        answer(res, 500, 'internal error\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

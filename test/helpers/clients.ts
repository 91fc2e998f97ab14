/** Tandem sync clients for tests, over Node's `ws`. */
import WebSocket from 'ws';
import { SyncClient, type SyncClientOptions, type WebSocketLike } from '../../shared/client/sync-client';

export function nodeSyncClient(url: SyncClientOptions['url'], options: Partial<SyncClientOptions> = {}): SyncClient {
  return new SyncClient({
    url,
    WebSocket: WebSocket as unknown as new (url: string) => WebSocketLike,
    backoff: { initialMs: 50, maxMs: 500, jitter: 0.5 },
    ...options,
  });
}

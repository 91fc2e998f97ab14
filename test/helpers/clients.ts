/** Tandem sync clients for tests, over Node's `ws`. */
import WebSocket from 'ws';
import { SyncClient, type SyncClientOptions, type WebSocketLike } from '../../shared/client/sync-client';

/** A sync client; with `token`, it authenticates its sockets with that bearer token. */
export function nodeSyncClient(url: SyncClientOptions['url'], options: Partial<SyncClientOptions> & { token?: string } = {}): SyncClient {
  const { token, ...rest } = options;
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  class AuthenticatedWebSocket extends WebSocket {
    constructor(address: string) {
      super(address, { headers });
    }
  }
  return new SyncClient({
    url,
    WebSocket: AuthenticatedWebSocket as unknown as new (url: string) => WebSocketLike,
    backoff: { initialMs: 50, maxMs: 500, jitter: 0.5 },
    ...rest,
  });
}

/**
 * The `/sync` WebSocket endpoint: the only module that imports `ws`. It authenticates the
 * upgrade, adapts each socket to `PeerSocket`, keeps sockets alive (protocol-level pings), and
 * on shutdown closes them with a reason clients act on.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode, MAX_MESSAGE_BYTES } from '../../shared/protocol/index';
import type { SyncOptions } from '../config';
import type { Logger } from '../logger';
import type { JoinAuthorizer, Principal } from './authorizer';
import { Connection } from './connection';
import type { PeerSocket } from './peer-socket';
import type { RoomRegistry } from './room-registry';

export interface SyncEndpointDeps {
  rooms: RoomRegistry;
  authorizer: JoinAuthorizer;
  options: Readonly<SyncOptions>;
  log: Logger;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

class WsPeerSocket implements PeerSocket {
  private corked = false;

  constructor(private readonly ws: WebSocket) {}

  /**
   * Holds this tick's frames (Acks, relays) and writes them with one syscall at the end of
   * the tick: a syscall per frame was the largest single cost under many small updates. `ws`
   * has no public cork, so this reaches its underlying socket; without one it sends as is.
   */
  private cork(): void {
    if (this.corked) return;
    const raw = (this.ws as unknown as { _socket?: Socket })._socket;
    if (!raw) return;
    raw.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      raw.uncork();
    });
  }

  sendBinary(frame: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.cork();
    this.ws.send(frame, { binary: true });
  }

  sendText(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.cork();
    this.ws.send(text, { binary: false });
  }
  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }
}

export class SyncEndpoint {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;

  constructor(private readonly deps: SyncEndpointDeps) {
    // maxPayload is the protocol's frame limit: larger frames are refused by `ws` with 1009.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
    this.heartbeat = setInterval(() => this.checkAlive(), deps.options.heartbeatMs);
    this.heartbeat.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Handles an HTTP upgrade to `/sync`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.accepting) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const principal: Principal = { kind: 'anonymous' };
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, principal));
  }

  private accept(ws: WebSocket, principal: Principal): void {
    const connection = new Connection(new WsPeerSocket(ws), principal, this.deps);
    this.connections.set(ws, connection);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) connection.receiveBinary(toBytes(data));
      else connection.receiveText(toBytes(data).toString());
    });
    ws.on('error', (error) => this.deps.log.info('sync.socket_error', { conn: connection.connectionId, error }));
    ws.on('close', () => {
      this.connections.delete(ws);
      connection.handleSocketClosed();
    });
  }

  /** Terminates sockets that did not answer the previous ping. */
  private checkAlive(): void {
    for (const ws of this.connections.keys()) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  /** Stops taking new sockets (upgrades get 503). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Closes every socket with `server_shutdown` (retryable) and waits for them to go. */
  async closeAll(): Promise<void> {
    clearInterval(this.heartbeat);
    const closing = [...this.connections.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          // A peer that never answers the close handshake is cut after a second.
          setTimeout(() => ws.terminate(), 1_000).unref();
        }),
    );
    for (const connection of this.connections.values()) connection.close(CloseCode.ServerShutdown);
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

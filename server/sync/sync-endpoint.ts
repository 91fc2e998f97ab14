/**
 * The `/sync` WebSocket endpoint: the only module that imports `ws`. It authenticates the
 * upgrade, adapts each socket to `PeerSocket`, keeps sockets alive (protocol-level pings),
 * closes or evicts sockets when their access is revoked, and on shutdown closes them with a
 * reason clients act on.
 *
 * Who a socket is, decided once at the upgrade:
 * - `?ticket=…` (single-use, from `POST /api/sync-tickets`): that session. Extensions use this;
 *   Chrome sends no Lax cookies on an extension's WebSocket.
 * - `Authorization: Bearer tnd_…`: that personal access token (scripts).
 * - the session cookie: that session (pages on the server's own origin).
 * - nothing: anonymous, which can join documents only through share links.
 * Presented credentials that do not validate close the socket with 4401 `unauthenticated`. A
 * foreign web origin is refused before the upgrade (403); a Firefox extension needs a ticket.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode, CloseReason, MAX_MESSAGE_BYTES } from '../../shared/protocol/index';
import type { AccessEvent, AccessEventBus } from '../auth/access-events';
import type { AccessTokenService } from '../auth/access-tokens';
import { anonymous } from '../auth/principal';
import type { SessionService } from '../auth/sessions';
import type { SyncTicketService } from '../auth/sync-tickets';
import type { AuthOptions, SyncOptions } from '../config';
import { clientAddress } from '../auth/client-address';
import type { HostPolicy } from '../auth/host-policy';
import { classifyOrigin } from '../auth/origin-policy';
import { sessionCookieName } from '../auth/session-cookie';
import type { Logger } from '../logger';
import type { JoinAuthorizer, Principal } from './authorizer';
import { Connection, type ConnectionDeps } from './connection';
import type { PeerSocket } from './peer-socket';
import type { RoomRegistry } from './room-registry';
import { SocketLimits } from './socket-limits';

export interface SyncEndpointDeps {
  /** The Host names a cookie-authenticated upgrade may use (DNS rebinding). */
  hosts?: HostPolicy;
  rooms: RoomRegistry;
  authorizer: JoinAuthorizer;
  options: Readonly<SyncOptions>;
  log: Logger;
  auth: Readonly<AuthOptions>;
  sessions: SessionService;
  tokens: AccessTokenService;
  tickets: SyncTicketService;
  events: AccessEventBus;
  /** Counts refusals by limit (metrics). */
  onLimit?: (limit: 'sockets_per_address' | 'sockets_per_account' | 'joins_per_address') => void;
  /** Checks a snapshot a client sent, off the event loop (update-gate.ts). */
  checkSnapshot: ConnectionDeps['checkSnapshot'];
  /** Counts refused updates and presence by reason (metrics). */
  onRefused?: (reason: string) => void;
  /** Counts updates accepted and their Ack latency (metrics). */
  onAccepted?: ConnectionDeps['onAccepted'];
  onAcked?: ConnectionDeps['onAcked'];
  onJoinWaiting?: ConnectionDeps['onJoinWaiting'];
  /** Counts credentials an upgrade presented that did not validate (metrics). */
  onAuthFailure?: (reason: UpgradeFailure) => void;
}

/** Why presented credentials were refused on upgrade. */
export type UpgradeFailure = 'invalid_ticket' | 'extension_without_ticket' | 'invalid_token' | 'cookie_on_unknown_host';

/** What the upgrade established: a principal, or credentials that failed (close with 4401). */
type UpgradeAuth = { ok: true; principal: Principal } | { ok: false; reason: UpgradeFailure; detail: string };

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
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
  pause(): void {
    this.ws.pause();
  }
  resume(): void {
    this.ws.resume();
  }
}

export class SyncEndpoint {
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<WebSocket, Connection>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private accepting = true;
  readonly limits: SocketLimits;

  constructor(private readonly deps: SyncEndpointDeps) {
    // maxPayload is the protocol's frame limit: larger frames are refused by `ws` with 1009.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
    this.wss.on('headers', (headers) => headers.push('Cache-Control: no-store'));
    this.heartbeat = setInterval(() => this.checkAlive(), deps.options.heartbeatMs);
    this.heartbeat.unref();
    this.unsubscribe = deps.events.subscribe((event) => this.onAccessEvent(event));
    this.limits = new SocketLimits(deps.options);
  }

  /** Applies a revocation to open sockets, at once. */
  private onAccessEvent(event: AccessEvent): void {
    for (const connection of this.connections.values()) {
      const p = connection.principal;
      switch (event.type) {
        case 'session_revoked':
          if (p.kind === 'user' && p.via.kind === 'session' && p.via.sessionId === event.sessionId) connection.close(CloseCode.Revoked);
          break;
        case 'token_revoked':
          if (p.kind === 'user' && p.via.kind === 'token' && p.via.tokenId === event.tokenId) connection.close(CloseCode.Revoked);
          break;
        case 'user_revoked':
          if (p.kind === 'user' && p.user.id === event.userId) connection.close(CloseCode.Revoked);
          break;
        case 'document_access_changed':
          if (connection.isIn(event.docId)) connection.reauthorize(event.docId);
          break;
      }
    }
  }

  private async authenticateUpgrade(req: IncomingMessage): Promise<UpgradeAuth> {
    const query = (req.url ?? '').split('?')[1] ?? '';
    const ticket = new URLSearchParams(query).get('ticket');
    if (ticket !== null) {
      const sessionId = await this.deps.tickets.redeem(ticket);
      const valid = sessionId ? await this.deps.sessions.validateId(sessionId) : null;
      if (!valid) return { ok: false, reason: 'invalid_ticket', detail: 'the ticket is unknown, expired or already used' };
      return { ok: true, principal: { kind: 'user', user: valid.user, via: { kind: 'session', sessionId: valid.session.id } } };
    }
    if (classifyOrigin(req, this.deps.auth) === 'firefox_extension') return { ok: false, reason: 'extension_without_ticket', detail: 'extensions open /sync with a ticket' };
    const header = req.headers.authorization;
    if (header) {
      const match = /^Bearer (\S+)$/i.exec(header);
      const valid = match ? await this.deps.tokens.validate(match[1]!) : null;
      if (!valid) return { ok: false, reason: 'invalid_token', detail: 'the bearer token is unknown, revoked or malformed' };
      return { ok: true, principal: { kind: 'user', user: valid.user, via: { kind: 'token', tokenId: valid.tokenId, scopes: valid.scopes } } };
    }
    const cookie = cookieValue(req.headers.cookie, sessionCookieName(req, this.deps.auth));
    if (cookie && this.deps.hosts && !this.deps.hosts.isKnown(req.headers.host))
      return { ok: false, reason: 'cookie_on_unknown_host', detail: "the session cookie is only accepted on this server's own host names" };
    const valid = cookie ? await this.deps.sessions.validateToken(cookie) : null;
    // A stale cookie is ambient, not presented: the socket goes on as anonymous.
    if (!valid) return { ok: true, principal: anonymous };
    return { ok: true, principal: { kind: 'user', user: valid.user, via: { kind: 'session', sessionId: valid.session.id } } };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Handles an HTTP upgrade to `/sync`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    // The access log line of the upgrade (as http/access-log.ts writes for other requests): never its URL, which may hold a ticket.
    const logged = (status: number, userId: string | null): void =>
      this.deps.log.info('http.request', { method: req.method, route: '/sync', status, ms: Math.round((performance.now() - started) * 10) / 10, userId, address: clientAddress(req, this.deps.auth) });
    const refuse = (status: string): void => {
      logged(Number(status.slice(0, 3)), null);
      // Destroyed once written: a refused client may not keep the socket half-open (and its slot held).
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    };
    if (!this.accepting) return refuse('503 Service Unavailable');
    // Cross-site WebSocket hijacking: a page elsewhere must not reach us with our cookie.
    if (classifyOrigin(req, this.deps.auth) === 'foreign') return refuse('403 Forbidden');
    // Refused before any work: an address at its limit costs us no database lookup. A 429 (not
    // a close code) because it is temporary, and clients retry a failed upgrade with backoff.
    const address = clientAddress(req, this.deps.auth);
    if (!this.limits.admitAddress(address)) {
      this.deps.onLimit?.('sockets_per_address');
      return refuse('429 Too Many Requests');
    }
    // The slots are held until the TCP socket closes, whichever way this upgrade ends.
    let account: string | null = null;
    socket.once('close', () => {
      this.limits.releaseAddress(address);
      if (account) this.limits.releaseAccount(account);
    });
    this.authenticateUpgrade(req).then(
      (auth) => {
        if (!this.accepting || socket.destroyed) return refuse('503 Service Unavailable');
        const userId = auth.ok && auth.principal.kind === 'user' ? auth.principal.user.id : null;
        const admitted = userId === null || this.limits.admitAccount(userId);
        if (userId && admitted) account = userId;
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          logged(101, userId);
          if (!admitted) {
            // A close code, not a 429: the client is known, and a browser sees a close's reason, never an upgrade's status.
            this.deps.onLimit?.('sockets_per_account');
            return ws.close(CloseCode.TooManySockets, CloseReason[CloseCode.TooManySockets]);
          }
          if (auth.ok) return this.accept(ws, auth.principal, address);
          this.deps.log.info('sync.upgrade_unauthenticated', { reason: auth.reason, detail: auth.detail, address });
          this.deps.onAuthFailure?.(auth.reason);
          ws.close(CloseCode.Unauthenticated, CloseReason[CloseCode.Unauthenticated]);
        });
      },
      (error: unknown) => {
        this.deps.log.warn('sync.upgrade_failed', { error });
        refuse('503 Service Unavailable');
      },
    );
  }

  private accept(ws: WebSocket, principal: Principal, address: string): void {
    const connection = new Connection(new WsPeerSocket(ws), principal, {
      ...this.deps,
      takeAddressJoin: () => {
        const ok = this.limits.takeJoin(address);
        if (!ok) this.deps.onLimit?.('joins_per_address');
        return ok;
      },
    });
    this.connections.set(ws, connection);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) connection.receiveBinary(toBytes(data));
      else connection.receiveText(toBytes(data).toString());
    });
    ws.on('error', (error) => {
      // A peer that breaks the protocol or goes away is its own business; anything else is ours, logged with its stack.
      const code = (error as { code?: unknown }).code;
      const expected = typeof code === 'string' && (code.startsWith('WS_ERR_') || code === 'ECONNRESET' || code === 'EPIPE');
      if (expected) this.deps.log.info('sync.socket_error', { conn: connection.connectionId, error });
      else this.deps.log.error('sync.socket_error', { conn: connection.connectionId, error });
    });
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

  /**
   * Stops taking new sockets (upgrades get 503) and stops reading the open ones, so that what
   * was accepted can be written before they close. Updates sent meanwhile stay in their
   * clients' outboxes and go to the next node.
   */
  stopAccepting(): void {
    this.accepting = false;
    for (const connection of this.connections.values()) connection.stopReading();
  }

  /** Closes every socket with `server_shutdown` (retryable) and waits for them to go. */
  async closeAll(): Promise<void> {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    const closing = [...this.connections.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === ws.CLOSED) return resolve();
          ws.once('close', () => resolve());
          // A peer that never answers the close handshake is cut after a second.
          setTimeout(() => ws.terminate(), 1_000).unref();
        }),
    );
    for (const [ws, connection] of this.connections) {
      connection.close(CloseCode.ServerShutdown);
      // Read again so the close handshake completes; the closed connection ignores any frame.
      ws.resume();
    }
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

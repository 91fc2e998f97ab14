/**
 * An in-process socket pair (after tldraw sync-core's TestSocketPair): a server-side
 * `PeerSocket` and a client-side `WebSocketLike` joined by two queues of frames, so a
 * `SyncClient` talks to a `Connection` with no network and no server process.
 *
 * With `autoFlush` (the default) frames are delivered on the next macrotask, like a fast
 * network. Without it, frames wait in `toServer` / `toClient` until the test flushes them,
 * which lets a test hold an Ack, reorder nothing, or drop the connection with frames in flight.
 */
import type { WebSocketLike } from '../../shared/client/sync-client';
import type { PeerSocket } from '../../server/sync/peer-socket';

/** What the server side hands frames to (a `Connection`). */
export interface FrameReceiver {
  receiveBinary(frame: Uint8Array): void;
  receiveText(text: string): void;
  handleSocketClosed(): void;
}

type Frame = Uint8Array | string;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

export class TestSocketPair {
  /** Frames the client sent that the server has not received yet. */
  readonly toServer: Frame[] = [];
  /** Frames the server sent that the client has not received yet. */
  readonly toClient: Frame[] = [];
  /** How the server closed the socket, if it did. */
  serverClose: { code: number; reason: string } | null = null;
  private receiver: FrameReceiver | null = null;
  private scheduled = false;
  private serverPaused = false;
  readonly serverSocket: PeerSocket;
  readonly clientSocket: WebSocketLike;

  constructor(private readonly options: { autoFlush?: boolean } = {}) {
    const pair = this;
    this.serverSocket = {
      sendBinary: (frame) => this.push(this.toClient, frame.slice()),
      sendText: (text) => this.push(this.toClient, text),
      close: (code, reason) => {
        if (this.serverClose || this.client.readyState === CLOSED) return;
        this.serverClose = { code, reason };
        this.schedule();
      },
      get bufferedAmount() {
        return pair.toClient.reduce((n, f) => n + (typeof f === 'string' ? f.length : f.byteLength), 0);
      },
      // The server stops reading: frames wait in `toServer`, as TCP would hold them.
      pause: () => {
        this.serverPaused = true;
      },
      resume: () => {
        this.serverPaused = false;
        this.schedule();
      },
    };
    this.client = new PairClientSocket(this);
    this.clientSocket = this.client;
  }

  private readonly client: PairClientSocket;

  get autoFlush(): boolean {
    return this.options.autoFlush ?? true;
  }

  /** Turning it on delivers what is queued, and everything after, on its own. */
  set autoFlush(on: boolean) {
    this.options.autoFlush = on;
    if (on) this.schedule();
  }

  /** Connects the server side to `receiver` and opens the client side. */
  open(receiver: FrameReceiver): void {
    this.receiver = receiver;
    this.client.readyState = OPEN;
    setImmediate(() => this.client.onopen?.({}));
  }

  /** Delivers the frames queued for the server; returns how many. */
  flushToServer(): number {
    let delivered = 0;
    while (!this.serverPaused && this.toServer.length > 0) {
      const frame = this.toServer.shift()!;
      if (typeof frame === 'string') this.receiver?.receiveText(frame);
      else this.receiver?.receiveBinary(frame);
      delivered++;
    }
    return delivered;
  }

  /** Delivers the frames queued for the client (then the server's close, if it closed); returns how many. */
  flushToClient(): number {
    const frames = this.toClient.splice(0);
    for (const frame of frames) {
      if (this.client.readyState !== OPEN) break;
      const data = typeof frame === 'string' ? frame : frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
      this.client.onmessage?.({ data });
    }
    if (this.serverClose && this.toClient.length === 0) this.closeBoth(this.serverClose.code, this.serverClose.reason);
    return frames.length;
  }

  /** The network fails: frames in flight are lost and both sides see the socket close (1006). */
  drop(): void {
    this.toServer.length = 0;
    this.toClient.length = 0;
    this.closeBoth(1006, '');
  }

  /** @internal The client closed its side. */
  clientClosed(code: number, reason: string): void {
    this.toServer.length = 0;
    this.closeBoth(code, reason);
  }

  /** @internal */
  push(queue: Frame[], frame: Frame): void {
    if (this.client.readyState !== OPEN) return;
    queue.push(frame);
    this.schedule();
  }

  private schedule(): void {
    if (!this.autoFlush || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushToServer();
      this.flushToClient();
    });
  }

  private closeBoth(code: number, reason: string): void {
    if (this.client.readyState === CLOSED) return;
    this.client.readyState = CLOSED;
    this.receiver?.handleSocketClosed();
    this.client.onclose?.({ code, reason });
  }
}

class PairClientSocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = CONNECTING;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(private readonly pair: TestSocketPair) {}

  send(data: Uint8Array | string): void {
    this.pair.push(this.pair.toServer, typeof data === 'string' ? data : data.slice());
  }

  close(code = 1000, reason = ''): void {
    this.pair.clientClosed(code, reason);
  }
}

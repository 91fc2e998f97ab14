/** The transport as a connection sees it; `WsPeerSocket` in `sync-endpoint.ts` adapts `ws` to it. */
export interface PeerSocket {
  sendBinary(frame: Uint8Array): void;
  sendText(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet sent. */
  readonly bufferedAmount: number;
  /** Stops reading from the peer (TCP holds what it sends), and starts again. */
  pause(): void;
  resume(): void;
}

/**
 * One client interface over the four protocols, for the comparison benchmark: insert text,
 * hear about text others inserted, read the whole text, and know when the server has this
 * client's edits (acknowledged where the protocol has acknowledgements).
 */
import { createHash } from 'node:crypto';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { LoroDoc } from 'loro-crdt';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { SyncClient } from '../../../shared/client/sync-client';
import { nodeSyncClient } from '../../helpers/clients';

// loro-websocket's client uses the global WebSocket, which Node 20 does not have.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

export interface BenchClient {
  /** One update: remove `deleted` units at `index`, insert `text` there. */
  splice(index: number, deleted: number, text: string): void;
  length(): number;
  text(): string;
  /** Called with each piece of text a remote edit inserted. */
  onRemoteInsert(listener: (inserted: string) => void): void;
  /** Resolves once joined and caught up. */
  ready(): Promise<void>;
  /** Resolves once the server holds every local edit (where the protocol says so). */
  settled(): Promise<void>;
  close(): void;
}

export type ServerKind = 'tandem' | 'hocuspocus' | 'y-websocket' | 'loro';

/** Protocols that acknowledge each update as stored before the client may forget it. */
export const DURABLE_ACKS: Record<ServerKind, string> = {
  tandem: 'after COMMIT',
  hocuspocus: 'no (applied in memory, stored debounced 2–10 s)',
  'y-websocket': 'no acknowledgements',
  loro: 'after applying in memory (stored every saveInterval)',
};

type TextMethods = Pick<BenchClient, 'splice' | 'length' | 'text' | 'onRemoteInsert'>;

/**
 * A large document's content in each CRDT: `copies` replays of a trace, each in front of the
 * last (one writer, one commit per patch for Loro). Building ten copies takes ~12 s for Loro
 * and 2–4 minutes for Yjs here, so the benchmark's join storm and cold start use one copy
 * (automerge-paper's 260k edits, 105 KB of text) unless asked for more.
 */
export function buildDocument(family: 'loro' | 'yjs', patches: readonly [number, number, string][], copies: number): { bytes: Uint8Array; length: number } {
  if (family === 'loro') {
    const doc = new LoroDoc();
    const text = doc.getText('text');
    for (let copy = 0; copy < copies; copy++) {
      for (const [pos, del, ins] of patches) {
        if (del > 0) text.delete(pos, del);
        if (ins.length > 0) text.insert(pos, ins);
        doc.commit();
      }
    }
    return { bytes: doc.export({ mode: 'snapshot' }), length: text.length };
  }
  const doc = new Y.Doc();
  const text = doc.getText('text');
  for (let copy = 0; copy < copies; copy++) {
    for (const [pos, del, ins] of patches) {
      doc.transact(() => {
        if (del > 0) text.delete(pos, del);
        if (ins.length > 0) text.insert(pos, ins);
      });
    }
  }
  return { bytes: Y.encodeStateAsUpdate(doc), length: text.length };
}

/** A text as length:sha1, to compare large texts across processes. */
export const fingerprint = (text: string): string => `${text.length}:${createHash('sha1').update(text).digest('hex')}`;

export const familyOf = (kind: ServerKind): 'loro' | 'yjs' => (kind === 'tandem' || kind === 'loro' ? 'loro' : 'yjs');

/** The text half of a client over a Loro document (one commit per splice). */
function loroText(doc: LoroDoc): TextMethods {
  const text = doc.getText('text');
  return {
    splice: (i, d, s) => {
      text.splice(i, d, s);
      doc.commit();
    },
    length: () => text.length,
    text: () => text.toString(),
    onRemoteInsert: (l) => loroInserts(doc, l),
  };
}

/** The text half of a client over a Yjs document (one transaction per splice). */
function yText(doc: Y.Doc): TextMethods {
  const text = doc.getText('text');
  return {
    splice: (i, d, s) =>
      doc.transact(() => {
        if (d > 0) text.delete(i, d);
        if (s.length > 0) text.insert(i, s);
      }),
    length: () => text.length,
    text: () => text.toString(),
    onRemoteInsert: (l) => yInserts(text, l),
  };
}

function loroInserts(doc: LoroDoc, listener: (inserted: string) => void): void {
  doc.subscribe((event) => {
    if (event.by === 'local') return;
    for (const e of event.events) {
      if (e.diff.type !== 'text') continue;
      for (const op of e.diff.diff) if ('insert' in op && typeof op.insert === 'string') listener(op.insert);
    }
  });
}

function yInserts(text: Y.Text, listener: (inserted: string) => void): void {
  text.observe((event) => {
    if (event.transaction.local) return;
    for (const op of event.delta) if (typeof op.insert === 'string') listener(op.insert);
  });
}

/**
 * Connects one client. `initial` (a Loro snapshot or a Yjs update, by protocol) is content the
 * client holds before it joins and uploads through the protocol's own sync: how the benchmark
 * seeds a large document into every server the same way.
 */
export async function connectClient(kind: ServerKind, wsUrl: string, docId: string, token: string | null, initial?: Uint8Array): Promise<BenchClient> {
  switch (kind) {
    case 'tandem': {
      const client: SyncClient = nodeSyncClient(wsUrl, token ? { token } : {});
      const room = await client.open(docId);
      if (initial) room.importLocal(initial);
      return {
        ...loroText(room.doc),
        ready: () => room.whenSynced(),
        settled: () => room.whenAcknowledged(),
        close: () => client.close(),
      };
    }
    case 'loro': {
      const client = new LoroWebsocketClient({ url: wsUrl, disablePing: true });
      await client.waitConnected();
      const doc = new LoroDoc();
      if (initial) doc.import(initial);
      const room = await client.join({ roomId: docId, crdtAdaptor: new LoroAdaptor(doc) });
      return {
        ...loroText(doc),
        ready: async () => {},
        settled: async () => {
          await (room as unknown as { waitForReachingServerVersion?: () => Promise<void> }).waitForReachingServerVersion?.();
        },
        close: () => client.destroy(),
      };
    }
    case 'hocuspocus': {
      const doc = new Y.Doc();
      if (initial) Y.applyUpdate(doc, initial);
      const socket = new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: WebSocket });
      const provider = new HocuspocusProvider({ websocketProvider: socket, name: docId, document: doc });
      provider.attach(); // a provider given its own socket object attaches explicitly
      const synced = new Promise<void>((resolve) => provider.on('synced', () => resolve()));
      return {
        ...yText(doc),
        ready: () => synced,
        settled: () =>
          new Promise<void>((resolve) => {
            if (!provider.hasUnsyncedChanges) return resolve();
            const check = (): void => {
              if (provider.hasUnsyncedChanges) return;
              provider.off('unsyncedChanges', check);
              resolve();
            };
            provider.on('unsyncedChanges', check);
          }),
        close: () => {
          provider.destroy();
          socket.destroy();
        },
      };
    }
    case 'y-websocket': {
      const doc = new Y.Doc();
      if (initial) Y.applyUpdate(doc, initial);
      const provider = new WebsocketProvider(wsUrl, docId, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true });
      const synced = new Promise<void>((resolve) => provider.once('sync', () => resolve()));
      return {
        ...yText(doc),
        ready: () => synced,
        settled: async () => {}, // nothing to wait for: the protocol does not say
        close: () => provider.destroy(),
      };
    }
  }
}

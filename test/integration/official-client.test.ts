/**
 * Must-show 1: the official `loro-websocket` client (npm, unmodified) syncs with Tandem.
 */
import { LoroDoc } from 'loro-crdt';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backends, type TestDatabase } from '../helpers/backends';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { createDocument, createShareLink, startTestServer, type RunningServer } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

// The official client uses the WHATWG WebSocket global, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

describe.each(backends)('official loro-websocket client ($name)', (backend) => {
  let db: TestDatabase;
  let server: RunningServer;
  const clients: LoroWebsocketClient[] = [];

  beforeEach(async () => {
    db = await backend.create();
    server = await startTestServer(db);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.close();
    await db.drop();
  });

  /** The official client, unmodified: anonymous, joining through an edit link (its token goes in the join payload). */
  async function joinWith(docId: string): Promise<LoroDoc> {
    const link = (links[docId] ??= await createShareLink(server, docId, 'edit'));
    const client = new LoroWebsocketClient({ url: server.wsUrl, disablePing: true });
    clients.push(client);
    await client.waitConnected();
    const doc = new LoroDoc();
    const adaptor = new LoroAdaptor(doc);
    await client.join({ roomId: docId, crdtAdaptor: adaptor, auth: encodeJoinAuth({ share: link.token }) });
    await adaptor.waitForReachingServerVersion();
    return doc;
  }
  const links: Record<string, { token: string }> = {};

  it('two clients edit concurrently and converge; a late joiner gets everything, over 256 KiB', async () => {
    const docId = await createDocument(server);
    const a = await joinWith(docId);
    const b = await joinWith(docId);

    // Concurrent edits: both type before seeing each other's changes.
    a.getText(TEXT).insert(0, 'Hello from A. ');
    a.commit();
    b.getText(TEXT).insert(0, 'Hello from B. ');
    b.commit();
    await waitFor(() => textOf(a) === textOf(b) && textOf(a).length === 28, { what: 'A and B to converge' });
    expect(textOf(a)).toContain('Hello from A. ');
    expect(textOf(a)).toContain('Hello from B. ');

    // Grow the document past the 256 KiB frame limit (random text does not compress).
    const chunk = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90))).join('');
    for (let i = 0; i < 6; i++) {
      a.getText(TEXT).insert(a.getText(TEXT).length, chunk(60_000));
      a.commit();
    }
    await waitFor(() => textOf(b) === textOf(a), { what: 'B to receive the large edits', timeoutMs: 20_000 });
    expect(a.export({ mode: 'snapshot' }).length).toBeGreaterThan(256 * 1024);

    const c = await joinWith(docId);
    await waitFor(() => textOf(c) === textOf(a), { what: 'the late joiner to catch up', timeoutMs: 20_000 });
    expect(textOf(c).length).toBe(28 + 6 * 60_000);
  });
});

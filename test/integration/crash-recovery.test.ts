/**
 * Must-show 4, and graceful shutdown: a server process killed with SIGKILL in the middle of a
 * replay loses nothing it acknowledged; the client resends the rest to the next process and
 * the final text is exact. SIGTERM writes what was accepted before closing sockets with
 * `server_shutdown`.
 */
import { decodeImportBlobMeta, type LoroDoc } from 'loro-crdt';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientRoom, SyncClient } from '../../shared/client/sync-client';
import { CloseCode, CloseReason } from '../../shared/protocol/index';
import { backends, type ProcessDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { spawnServer, type ServerProcess } from '../helpers/server-process';
import { storedDoc } from '../helpers/stored';
import { createDocument, signUp } from '../helpers/test-server';
import { TEXT, applyPatch, loadSequentialTrace, patchesOf, textOf, type Patch } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

/** Asserts that the database holds every one of `acked` (importing them adds nothing). */
async function expectAllStored(database: ProcessDatabase, docId: string, acked: Uint8Array[]): Promise<void> {
  const handle = await database.open();
  try {
    const stored: LoroDoc = await storedDoc(handle.db, docId);
    const before = stored.oplogVersion();
    stored.importBatch(acked);
    expect(stored.oplogVersion().compare(before), 'an acknowledged update is missing from the database').toBe(0);
  } finally {
    await handle.close();
  }
}

describe.each(backends)('crash recovery ($name)', (backend) => {
  let database: ProcessDatabase | undefined;
  const servers: ServerProcess[] = [];
  const clients: SyncClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await s.exited;
    }
    await database?.drop();
  });

  async function start(): Promise<ServerProcess> {
    const server = await spawnServer(database!.env);
    servers.push(server);
    return server;
  }

  it('SIGKILL mid-replay: every acked update is stored, the rest is resent, the text is exact', async () => {
    database = await backend.createForProcess();
    let server = await start();
    const { token } = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token });
    const trace = loadSequentialTrace('seph-blog1');
    const patches: Patch[] = [...patchesOf(trace)];

    let current = server.wsUrl;
    const client = nodeSyncClient(() => current, { token });
    clients.push(client);
    const room: ClientRoom = await client.open(docId);
    const acked: Uint8Array[] = [];
    // Ops acknowledged so far (the client merges a backlog of commits, so updates are not patches).
    let ackedOps = 0;
    room.onAcknowledged((updates) => {
      acked.push(...updates);
      for (const u of updates) for (const end of decodeImportBlobMeta(u, false).partialEndVersionVector.toJSON().values()) ackedOps = Math.max(ackedOps, end);
    });
    await room.whenSynced();

    // Type the trace in chunks, letting the network run between chunks.
    const text = room.doc.getText(TEXT);
    let next = 0;
    const type = async (until: number): Promise<void> => {
      for (; next < until; next++) {
        applyPatch(text, patches[next]!);
        room.doc.commit();
        if (next % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const half = Math.floor(patches.length / 2);
    await type(half);
    const opsTyped = room.doc.oplogVersion().get(room.doc.peerIdStr)!;
    await waitFor(() => ackedOps >= opsTyped / 2, { what: 'a quarter of the trace to be acknowledged', timeoutMs: 60_000 });

    server.child.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');
    const ackedAtKill = acked.length;
    expect(ackedAtKill).toBeGreaterThan(0);
    expect(room.unacknowledged).toBeGreaterThan(0);

    // Offline: keep typing while no server runs.
    await type(Math.floor(patches.length * 0.75));
    await expectAllStored(database, docId, acked.slice(0, ackedAtKill));

    server = await start();
    current = server.wsUrl;
    await type(patches.length);
    await room.whenAcknowledged();
    expect(textOf(room.doc)).toBe(trace.endContent);
    const reader = nodeSyncClient(server.wsUrl, { token });
    clients.push(reader);
    const fresh = await reader.open(docId);
    await fresh.whenSynced();
    expect(textOf(fresh.doc)).toBe(trace.endContent);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    await expectAllStored(database, docId, acked);
    const handle = await database.open();
    try {
      expect(textOf(await storedDoc(handle.db, docId))).toBe(trace.endContent);
    } finally {
      await handle.close();
    }
  }, 180_000);

  it('SIGTERM: accepted writes are stored and acknowledged, then sockets close with server_shutdown', async () => {
    database = await backend.createForProcess();
    const server = await start();
    const { token } = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token });
    const client = nodeSyncClient(server.wsUrl, { token, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    clients.push(client);
    const room = await client.open(docId);
    const acked: Uint8Array[] = [];
    room.onAcknowledged((updates) => acked.push(...updates));
    await room.whenSynced();
    const text = room.doc.getText(TEXT);
    for (let i = 0; i < 2_000; i++) {
      text.insert(text.length, `${i} `);
      room.doc.commit();
    }
    // Stop while the burst is in flight.
    await waitFor(() => acked.length > 0, { what: 'the first Ack' });
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(client.lastClose).toEqual({ code: CloseCode.ServerShutdown, reason: CloseReason[CloseCode.ServerShutdown] });
    expect(server.log.some((line) => line.includes('"server.stopped"'))).toBe(true);
    await expectAllStored(database, docId, acked);
  }, 120_000);

  it('SIGTERM during a heavy job (the text export of a 12 MiB document) still drains and exits', async () => {
    database = await backend.createForProcess();
    const server = await spawnServer({ ...database.env, TANDEM_METRICS_ADDR: '127.0.0.1:0' });
    servers.push(server);
    const { token } = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token });
    const client = nodeSyncClient(server.wsUrl, { token, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    clients.push(client);
    const room = await client.open(docId);
    await room.whenSynced();
    const text = room.doc.getText(TEXT);
    // Text that does not compress, a mebibyte an edit.
    const chunk = (): string =>
      Array.from({ length: 1 << 14 }, () => Math.random().toString(36).slice(2, 6))
        .join('')
        .padEnd(1 << 20, 'x');
    for (let i = 0; i < 12; i++) {
      text.insert(text.length, chunk());
      room.doc.commit();
    }
    await waitFor(() => room.unacknowledged === 0, { what: 'the 12 MiB to be stored', timeoutMs: 120_000 });

    // Ask for the text until the server is caught exporting it (the heavy-work thread's job, in /metrics).
    expect(server.metricsUrl).not.toBeNull();
    const exportRunning = async (): Promise<boolean> => /^tandem_heavy_work_running\{job="text"\} 1$/m.test(await (await fetch(server.metricsUrl!)).text());
    let exporting: Promise<number | 'cut'> | null = null;
    for (let attempt = 0; attempt < 10 && exporting === null; attempt++) {
      let answered = false;
      const request = fetch(`${server.httpUrl}/api/documents/${docId}/text`, { headers: { authorization: `Bearer ${token}` } }).then(
        async (res) => {
          await res.arrayBuffer();
          return res.status;
        },
        () => 'cut' as const,
      );
      void request.finally(() => (answered = true));
      const seen = await waitFor(async () => (answered ? 'answered' : (await exportRunning()) ? 'exporting' : null), { what: 'the export', timeoutMs: 60_000 });
      if (seen === 'exporting') exporting = request;
    }
    expect(exporting, 'an export caught running').not.toBeNull();

    const stopping = performance.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // Well within the shutdown limit (10 s), however long the export would have taken.
    expect(performance.now() - stopping).toBeLessThan(10_000);
    expect(server.log.some((line) => line.includes('"server.stopped"'))).toBe(true);
    expect(client.lastClose).toEqual({ code: CloseCode.ServerShutdown, reason: CloseReason[CloseCode.ServerShutdown] });
    // The export was answered (it finished first, or was refused as the thread closed) or cut with the connection.
    expect([200, 503, 'cut']).toContain(await exporting);
  }, 240_000);
});

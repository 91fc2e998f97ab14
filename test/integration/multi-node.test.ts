/**
 * Must-show of the multi-node issue, with real processes: three node processes behind a
 * round-robin balancer, on real Postgres (through a proxy the test can cut, to restart it),
 * clients of both kinds, real traces, with a node SIGKILLed and Postgres gone in the middle;
 * then a seeded randomised run with kills, restarts and client disconnects.
 */
import { LoroDoc } from 'loro-crdt';
import { LoroAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientRoom, SyncClient } from '../../shared/client/sync-client';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { postgresBackend, type ProcessDatabase } from '../helpers/backends';
import { nodeSyncClient } from '../helpers/clients';
import { seededRandom } from '../helpers/random';
import { RoundRobinProxy } from '../helpers/round-robin-proxy';
import { spawnServer, type ServerProcess } from '../helpers/server-process';
import { storedDoc } from '../helpers/stored';
import { TcpProxy } from '../helpers/tcp-proxy';
import { createDocument, createShareLink, signUp } from '../helpers/test-server';
import { TEXT, applyPatch, loadConcurrentTrace, loadSequentialTrace, patchesOf, textAfter, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const portOf = (server: ServerProcess): number => Number(new URL(server.httpUrl).port);

/** Resolves when `predicate` holds for the room, re-checked on every change. */
function untilRoom(room: ClientRoom, predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const off = room.onChange(() => {
      if (!predicate()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

describe.skipIf(!postgresBackend)('multi-node (processes, real Postgres)', () => {
  let database: ProcessDatabase;
  let pgProxy: TcpProxy;
  let balancer: RoundRobinProxy;
  let nodes: ServerProcess[] = [];
  /** The bus of the nodes the next `startCluster` starts (Redis also carries edits ahead of their commit). */
  let bus: { TANDEM_BUS: 'postgres' } | { TANDEM_BUS: 'redis'; TANDEM_REDIS_URL: string } = { TANDEM_BUS: 'postgres' };
  const syncClients: SyncClient[] = [];
  const officialClients: LoroWebsocketClient[] = [];

  const clientErrors: string[] = [];

  afterEach(async (context) => {
    bus = { TANDEM_BUS: 'postgres' };
    // On failure, what the nodes and clients complained about is the first thing to read.
    if (context.task.result?.state === 'fail') {
      for (const n of nodes) for (const line of n.log) if (/"level":"(warn|error)"/.test(line)) process.stderr.write(`${line}\n`);
      for (const line of clientErrors) process.stderr.write(`client: ${line}\n`);
      for (const c of syncClients) process.stderr.write(`client status ${c.status}, last close ${JSON.stringify(c.lastClose)}\n`);
    }
    clientErrors.length = 0;
    for (const c of syncClients.splice(0)) c.close();
    for (const c of officialClients.splice(0)) c.destroy();
    for (const n of nodes) {
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
      await n.exited;
    }
    nodes = [];
    await balancer.close();
    await pgProxy.close();
    await database.drop();
  });

  async function startNode(): Promise<ServerProcess> {
    const url = new URL(database.env.DATABASE_URL!);
    url.host = `127.0.0.1:${pgProxy.port}`;
    // Behind a balancer, the public address is the balancer's (the nodes refuse cookie requests naming any other host).
    const TANDEM_PUBLIC_URL = `http://127.0.0.1:${balancer.port}`;
    return spawnServer({ DATABASE_URL: url.toString(), ...bus, TANDEM_PUBLIC_URL, TANDEM_HEAD_CHECK_MS: '500', TANDEM_PASSWORD_COST: '10' });
  }

  async function startCluster(count: number): Promise<{ http: string; ws: string; token: string }> {
    database = await postgresBackend!.createForProcess();
    const target = new URL(database.env.DATABASE_URL!);
    pgProxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    balancer = await RoundRobinProxy.start([]);
    nodes = await Promise.all(Array.from({ length: count }, () => startNode()));
    balancer.setUpstreams(nodes.map(portOf));
    const http = `http://127.0.0.1:${balancer.port}`;
    const { token } = await signUp(http);
    return { http, ws: `ws://127.0.0.1:${balancer.port}/sync`, token };
  }

  /**
   * friendsforever-concurrent on one document (two agents, each an exact-version replica that
   * sends through its own sync client) and automerge-paper on another (a writer typing in
   * chunks), each watched by a sync client and an official client; `midway` runs when the
   * paper is 40% typed. Everything must end exactly at the traces' final texts. `paperEdits`:
   * type only the paper's first edits (and expect the text they make).
   */
  async function replayBoth(cluster: { http: string; ws: string; token: string }, midway: () => Promise<void>, paperEdits = Infinity): Promise<void> {
    const concurrent = loadConcurrentTrace('friendsforever-concurrent');
    const paper = loadSequentialTrace('automerge-paper');
    const patches = [...patchesOf(paper)].slice(0, paperEdits);
    const paperText = paperEdits === Infinity ? paper.endContent : textAfter(patches);
    const docA = await createDocument({ httpUrl: cluster.http, token: cluster.token });
    const docB = await createDocument({ httpUrl: cluster.http, token: cluster.token });
    const client = (): SyncClient => {
      const c = nodeSyncClient(cluster.ws, {
        token: cluster.token,
        backoff: { initialMs: 50, maxMs: 1_000, jitter: 0.5 },
        onError: (error) => clientErrors.push(`${new Date().toISOString()} ${error.message}`),
      });
      syncClients.push(c);
      return c;
    };
    const official = async (docId: string): Promise<LoroDoc> => {
      const link = await createShareLink({ httpUrl: cluster.http, token: cluster.token }, docId, 'view');
      const c = new LoroWebsocketClient({ url: cluster.ws, disablePing: true, reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } });
      officialClients.push(c);
      await c.waitConnected();
      const doc = new LoroDoc();
      await c.join({ roomId: docId, crdtAdaptor: new LoroAdaptor(doc), auth: () => encodeJoinAuth({ share: link.token }) });
      return doc;
    };

    // Six clients, so round-robin puts two on each node.
    const agents = await Promise.all([0, 1].map(async () => ({ room: await client().open(docA), replica: new LoroDoc(), imported: new Set<number>() })));
    const writer = await client().open(docB);
    const readerB = await client().open(docB);
    const officialA = await official(docA);
    const officialB = await official(docB);
    await Promise.all([...agents.map((a) => a.room.whenSynced()), writer.whenSynced(), readerB.whenSynced()]);

    const opsOf: { id: { peer: `${number}`; counter: number }; len: number }[] = [];
    const runAgent = async (index: number): Promise<void> => {
      const agent = agents[index]!;
      const me = agent.replica.peerIdStr;
      let done = 0;
      for (let i = 0; i < concurrent.txns.length; i++) {
        const txn = concurrent.txns[i]!;
        if (txn.agent !== index) continue;
        const needed: number[] = [];
        const stack = [...txn.parents];
        while (stack.length > 0) {
          const p = stack.pop()!;
          if (concurrent.txns[p]!.agent === index || agent.imported.has(p)) continue;
          agent.imported.add(p);
          needed.push(p);
          stack.push(...concurrent.txns[p]!.parents);
        }
        if (needed.length > 0) {
          const has = (): boolean => {
            const version = agent.room.doc.oplogVersion();
            return needed.every((t) => opsOf[t] !== undefined && (version.get(opsOf[t]!.id.peer) ?? 0) >= opsOf[t]!.id.counter + opsOf[t]!.len);
          };
          if (!has()) {
            await waitFor(has, { what: `the parents of transaction ${i}`, timeoutMs: 60_000 }).catch((error: unknown) => {
              const other = agents[1 - index]!.room;
              throw new Error(
                `agent ${index} stuck at txn ${i}: own room ${agent.room.status} (${agent.room.error?.message ?? 'ok'}), other room ${other.status} (${other.error?.message ?? 'ok'}), other unacknowledged ${other.unacknowledged}`,
                { cause: error },
              );
            });
          }
          agent.replica.import(agent.room.doc.export({ mode: 'updates-in-range', spans: needed.map((t) => opsOf[t]!) }));
        }
        const before = agent.replica.oplogVersion();
        for (const patch of txn.patches) applyPatch(agent.replica.getText(TEXT), patch);
        agent.replica.commit();
        const start = before.get(me) ?? 0;
        opsOf[i] = { id: { peer: me, counter: start }, len: agent.replica.oplogVersion().get(me)! - start };
        agent.room.importLocal(agent.replica.export({ mode: 'update', from: before }));
        if (++done % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };

    const typePaper = async (): Promise<void> => {
      const text = writer.doc.getText(TEXT);
      let midwayDone: Promise<void> | null = null;
      for (let i = 0; i < patches.length; i++) {
        applyPatch(text, patches[i]!);
        writer.doc.commit();
        if (i % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
        if (i === Math.floor(patches.length * 0.4)) midwayDone = midway();
      }
      await midwayDone;
    };

    await Promise.all([runAgent(0), runAgent(1), typePaper()]);
    await Promise.all([...agents.map((a) => a.room.whenAcknowledged()), writer.whenAcknowledged()]);
    for (const agent of agents) await untilRoom(agent.room, () => textOf(agent.room.doc) === concurrent.endContent, 'agent to converge');
    await untilRoom(readerB, () => textOf(readerB.doc) === paperText, 'the paper reader');
    await waitFor(() => textOf(officialA) === concurrent.endContent, { what: 'the official client on A', timeoutMs: 60_000 });
    await waitFor(() => textOf(officialB) === paperText, { what: 'the official client on B', timeoutMs: 60_000 });
    expect(textOf(writer.doc)).toBe(paperText);
    const handle = await database.open();
    try {
      expect(textOf(await storedDoc(handle.db, docA))).toBe(concurrent.endContent);
      expect(textOf(await storedDoc(handle.db, docB))).toBe(paperText);
    } finally {
      await handle.close();
    }
  }

  // automerge-paper is cut to its first 100,000 of 260k edits to keep CI short (the whole of it
  // took 3 of the suite's 14 minutes in 2026-11); the kill comes at 40%, so 60,000 edits still
  // cross the cluster after it. The same run without failures was its own test until
  // 2026-12-06: it is this one's first 40%, and took 2 of CI's 17 minutes.
  it('three nodes, round-robin clients, two traces at once, a node SIGKILLed and Postgres gone in the middle: no acknowledged update lost, texts exact', async () => {
    const cluster = await startCluster(3);
    await replayBoth(
      cluster,
      async () => {
        nodes[1]!.child.kill('SIGKILL');
        await nodes[1]!.exited;
        pgProxy.cut();
        // Postgres is away for a second: nodes hold what they accepted and acknowledge nothing.
        await waitFor(async () => (await fetch(`${nodes[0]!.httpUrl}/readyz`)).status === 503, { what: 'node 0 to notice' });
        pgProxy.restore();
        await waitFor(async () => (await fetch(`${nodes[0]!.httpUrl}/readyz`)).status === 200, { what: 'node 0 to recover' });
      },
      100_000,
    );
    expect(nodes[0]!.child.exitCode).toBeNull();
    expect(nodes[2]!.child.exitCode).toBeNull();
  }, 600_000); // ~1 min alone; the full suite runs two files at once on 2 cores, with browsers

  /** Seeds that once failed stay here for good. */
  const KEPT_SEEDS: number[] = [];
  const redisUrl = process.env.TANDEM_TEST_REDIS_URL;
  // The last seed runs on the Redis bus when there is one (CI has): edits cross ahead of their commit there.
  // TANDEM_FUZZ_SEEDS=13,14,… runs those seeds on the Redis bus instead (2026-11-29: seeds
  // 13–28 with two busy loops beside them found three bugs that the two seeds here rarely hit).
  const extraSeeds = process.env.TANDEM_FUZZ_SEEDS?.split(',').map(Number);
  const seeds: [number, 'postgres' | 'redis'][] = extraSeeds
    ? extraSeeds.map((s) => [s, 'redis'])
    : [...KEPT_SEEDS.map((s) => [s, 'postgres'] as [number, 'postgres']), [7, 'postgres'], [1_234, redisUrl ? 'redis' : 'postgres']];
  it.each(seeds)(
    'seed %i on the %s bus: random edits, node kills and restarts, disconnects: all converge',
    async (seed, busKind) => {
      bus = busKind === 'redis' ? { TANDEM_BUS: 'redis', TANDEM_REDIS_URL: redisUrl! } : { TANDEM_BUS: 'postgres' };
      const random = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const cluster = await startCluster(3);
      const docs = [await createDocument({ httpUrl: cluster.http, token: cluster.token }), await createDocument({ httpUrl: cluster.http, token: cluster.token })];
      const clients: { client: SyncClient; room: ClientRoom; docId: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const client = nodeSyncClient(cluster.ws, { token: cluster.token, backoff: { initialMs: 20, maxMs: 500, jitter: 0.5 } });
        syncClients.push(client);
        const docId = docs[i % 2]!;
        clients.push({ client, room: await client.open(docId), docId });
      }
      await Promise.all(clients.map((c) => c.room.whenSynced()));
      for (let step = 0; step < 400; step++) {
        const roll = random();
        if (roll < 0.9) {
          const { room } = pick(clients);
          const text = room.doc.getText(TEXT);
          if (text.length > 0 && random() < 0.3) {
            const at = Math.floor(random() * text.length);
            text.delete(at, Math.min(text.length - at, 1 + Math.floor(random() * 5)));
          } else {
            text.insert(Math.floor(random() * (text.length + 1)), String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 4)));
          }
          room.doc.commit();
        } else if (roll < 0.96) {
          pick(clients).client.reconnectNow();
        } else {
          // Kill a node, start a replacement (on a new port) behind the balancer.
          const victim = Math.floor(random() * nodes.length);
          nodes[victim]!.child.kill('SIGKILL');
          await nodes[victim]!.exited;
          nodes[victim] = await startNode();
          balancer.setUpstreams(nodes.map(portOf));
        }
        if (step % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(clients.map((c) => c.room.whenAcknowledged()));
      const handle = await database.open();
      try {
        for (const docId of docs) {
          const stored = await storedDoc(handle.db, docId);
          const expected = textOf(stored);
          const storedVersion = stored.oplogVersion();
          for (const c of clients.filter((x) => x.docId === docId)) {
            // Everything acknowledged: each client's own edits are all in the database.
            const own = c.room.doc.peerIdStr;
            expect(storedVersion.get(own) ?? 0, `a client's acknowledged edits missing from the database`).toBe(c.room.doc.oplogVersion().get(own) ?? 0);
            const versions = (): string =>
              `the client has ${JSON.stringify([...c.room.doc.oplogVersion().toJSON()])} with ${c.room.unacknowledged} unacknowledged, the database ${JSON.stringify([...storedVersion.toJSON()])}`;
            await untilRoom(c.room, () => textOf(c.room.doc) === expected, `client on ${docId} to converge`).catch((error: Error) => {
              throw new Error(`${error.message}: ${versions()}`);
            });
          }
        }
      } finally {
        await handle.close();
      }
    },
    600_000,
  ); // ~2 min alone; the full suite runs two files at once on 2 cores, with browsers
});

describe.skipIf(!postgresBackend)('TANDEM_NODES (one machine, one port)', () => {
  it('runs N node processes behind one port, and replaces one that dies', async () => {
    const database = await postgresBackend!.createForProcess();
    const primary = await spawnServer({ ...database.env, TANDEM_NODES: '2', TANDEM_PASSWORD_COST: '10' });
    try {
      const pidOf = (line: string) => (JSON.parse(line) as { pid: number }).pid;
      const listening = () => primary.log.filter((l) => l.includes('"server.listening"'));
      await waitFor(() => listening().length >= 2, { what: 'both nodes to listen' });
      const [first, second] = listening().map(pidOf);
      expect(first).not.toBe(second);
      expect(new Set(listening().map((l) => (JSON.parse(l) as { url: string }).url)).size).toBe(1);
      const { token } = await signUp(primary.httpUrl);
      const docId = await createDocument({ httpUrl: primary.httpUrl, token });
      process.kill(first!, 'SIGKILL');
      await waitFor(() => listening().length >= 3, { what: 'a replacement node', timeoutMs: 20_000 });
      // Both the survivor and the replacement serve the document.
      for (let i = 0; i < 4; i++) {
        const client = nodeSyncClient(primary.wsUrl, { token });
        const room = await client.open(docId);
        await room.whenSynced();
        client.close();
      }
    } finally {
      primary.child.kill('SIGTERM');
      await primary.exited;
      await database.drop();
    }
  }, 120_000);
});

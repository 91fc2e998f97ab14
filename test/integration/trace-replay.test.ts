/**
 * Must-show 2 and 3: real editing traces through clients and the server end exactly at the
 * trace's final text, in every client and in the database.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { MessageType, UpdateStatus, type BatchId } from '../../shared/protocol/index';
import { backends } from '../helpers/backends';
import { useTestServer } from '../helpers/server-fixture';
import { RawPeer } from '../helpers/raw-peer';
import { storedDoc } from '../helpers/stored';
import { createDocument } from '../helpers/test-server';
import { TEXT, applyPatch, loadConcurrentTrace, loadSequentialTrace, patchesOf, textOf } from '../helpers/traces';

describe.each(backends)('trace replay ($name)', (backend) => {
  const fixture = useTestServer(backend);

  it('automerge-paper, one patch per update: after a restart a fresh client sees exactly endContent', async () => {
    const trace = loadSequentialTrace('automerge-paper');
    const docId = await createDocument(fixture.server);
    const writer = fixture.client();
    const room = await writer.open(docId);
    await room.whenSynced();
    const text = room.doc.getText(TEXT);
    let patches = 0;
    for (const patch of patchesOf(trace)) {
      applyPatch(text, patch);
      room.doc.commit(); // one Loro update per patch
      patches++;
    }
    expect(patches).toBe(259_778);
    await room.whenAcknowledged();
    expect(textOf(room.doc)).toBe(trace.endContent);

    // Restart: a new server (empty memory) on the same database.
    writer.close();
    await fixture.restart();
    const reader = fixture.client();
    const fresh = await reader.open(docId);
    await fresh.whenSynced();
    expect(textOf(fresh.doc)).toBe(trace.endContent);
    expect(textOf(await storedDoc(fixture.db.handle.db, docId))).toBe(trace.endContent);
  }, 180_000);

  // The concurrent trace exercises merging in the server's rooms, which is the same on every
  // storage backend: it runs on one (Postgres when there is one, as in CI), which saves CI about
  // a minute; automerge-paper above runs on each, for the storage of a long history.
  it.runIf(backend === backends.at(-1))(
    'friendsforever-concurrent: two clients, one per agent, respecting parents',
    async () => {
      const trace = loadConcurrentTrace('friendsforever-concurrent');
      expect(trace.numAgents).toBe(2);
      const docId = await createDocument(fixture.server);

      /** The ops each transaction made: one peer's counters [start, start + len). */
      const opsOf: { id: { peer: `${number}`; counter: number }; len: number }[] = [];

      interface Agent {
        peer: RawPeer;
        /** The agent's replica: always exactly at the version its next transaction expects. */
        doc: LoroDoc;
        /** Our own ops and everything received from the server. */
        pool: LoroDoc;
        pooled: number;
        /** Transactions of the other agent already in `doc`. */
        imported: Set<number>;
        batches: BatchId[];
      }
      const agents: Agent[] = [];
      for (let a = 0; a < 2; a++) {
        const peer = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
        expect((await peer.joinAndWait(docId)).type).toBe(MessageType.JoinResponseOk);
        agents.push({ peer, doc: new LoroDoc(), pool: new LoroDoc(), pooled: 0, imported: new Set(), batches: [] });
      }
      /** True once the pool holds every op of the given transactions. */
      const poolHas = (agent: Agent, txns: number[]): boolean => {
        const received = agent.peer.updatesFor(docId);
        if (received.length > agent.pooled) {
          agent.pool.importBatch(received.slice(agent.pooled));
          agent.pooled = received.length;
        }
        const version = agent.pool.oplogVersion();
        return txns.every((t) => (version.get(opsOf[t]!.id.peer) ?? 0) >= opsOf[t]!.id.counter + opsOf[t]!.len);
      };
      /** Moves exactly these transactions' ops from the pool into the replica. */
      const take = (agent: Agent, txns: number[]): void => {
        agent.doc.import(agent.pool.export({ mode: 'updates-in-range', spans: txns.map((t) => opsOf[t]!) }));
      };

      // Each agent works through its own transactions in order, concurrently with the other.
      const run = async (a: number): Promise<void> => {
        const agent = agents[a]!;
        const me = agent.doc.peerIdStr;
        for (let i = 0; i < trace.txns.length; i++) {
          const txn = trace.txns[i]!;
          if (txn.agent !== a) continue;
          // Bring the replica to exactly the version of the parents: the other agent's
          // ancestors (and only those), once they have arrived through the server.
          const needed: number[] = [];
          const stack = [...txn.parents];
          while (stack.length > 0) {
            const p = stack.pop()!;
            if (trace.txns[p]!.agent === a || agent.imported.has(p)) continue;
            agent.imported.add(p);
            needed.push(p);
            stack.push(...trace.txns[p]!.parents);
          }
          if (needed.length > 0) {
            await agent.peer.until(() => needed.every((t) => opsOf[t] !== undefined) && poolHas(agent, needed), {
              what: `the parents of transaction ${i}`,
              timeoutMs: 30_000,
            });
            take(agent, needed);
          }
          const before = agent.doc.oplogVersion();
          const text = agent.doc.getText(TEXT);
          for (const patch of txn.patches) applyPatch(text, patch);
          agent.doc.commit();
          const start = before.get(me) ?? 0;
          opsOf[i] = { id: { peer: me, counter: start }, len: agent.doc.oplogVersion().get(me)! - start };
          const update = agent.doc.export({ mode: 'update', from: before });
          agent.pool.import(update); // the server relays the other agent's ops, which build on ours
          agent.batches.push(agent.peer.update(docId, [update]));
          // Let the other agent and the socket run between transactions.
          if (agent.batches.length % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      };
      await Promise.all([run(0), run(1)]);

      for (const agent of agents) {
        for (const batch of agent.batches) expect((await agent.peer.ackFor(batch)).status).toBe(UpdateStatus.Ok);
      }
      // Finally each agent takes in everything of the other agent.
      for (const [a, agent] of agents.entries()) {
        const others = trace.txns.flatMap((t, i) => (t.agent !== a ? [i] : []));
        await agent.peer.until(() => poolHas(agent, others), { what: 'every update of the other agent', timeoutMs: 30_000 });
        take(agent, others);
        expect(textOf(agent.doc)).toBe(trace.endContent);
        agent.peer.close();
      }
      expect(textOf(await storedDoc(fixture.db.handle.db, docId))).toBe(trace.endContent);
    },
    180_000,
  );
});

/**
 * `TANDEM_TEST_DATABASE_URL=… npx tsx test/bench/durable-throughput.ts`: acknowledged (stored)
 * updates per second with the server in this process, 50 raw clients on 10 documents, 8
 * updates in flight each, 3 s. A quick A/B for the write path (bench-results/README.md "Afternoon runs"); the
 * full figure, with the server in its own process, is `npm run bench -- --only sync`.
 */
import { LoroDoc } from 'loro-crdt';
import { UpdateStatus } from '../../shared/protocol/index';
import { backends } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, startTestServer } from '../helpers/test-server';

const CLIENTS = 50;
const DOCS = 10;
const IN_FLIGHT = 8;
const SECONDS = 3;

/** One client's edits: each call types a character and returns its update. */
function typist(): () => Uint8Array {
  const doc = new LoroDoc();
  const text = doc.getText('text');
  return () => {
    const before = doc.oplogVersion();
    text.insert(text.length, 'a');
    doc.commit();
    const update = doc.export({ mode: 'update', from: before });
    before.free();
    return update;
  };
}

const db = await backends.find((b) => b.name === 'postgres')!.create();
const server = await startTestServer(db);
const docs = await Promise.all(Array.from({ length: DOCS }, () => createDocument(server)));
const peers = await Promise.all(Array.from({ length: CLIENTS }, () => RawPeer.connect(server.wsUrl, server.token)));
await Promise.all(peers.map((p, i) => p.joinAndWait(docs[i % DOCS]!)));

let acked = 0;
const latencies: number[] = [];
const started = performance.now();
await Promise.all(
  peers.map(async (peer, i) => {
    const next = typist();
    const inFlight = new Set<Promise<void>>();
    while (performance.now() - started < SECONDS * 1000) {
      while (inFlight.size < IN_FLIGHT) {
        const sent = performance.now();
        const id = peer.update(docs[i % DOCS]!, [next()]);
        const done: Promise<void> = peer.ackFor(id, 60_000).then((ack) => {
          if (ack.status !== UpdateStatus.Ok) throw new Error(`status ${ack.status}`);
          acked++;
          latencies.push(performance.now() - sent);
          inFlight.delete(done);
        });
        inFlight.add(done);
      }
      await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }),
);
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number): string => latencies[Math.floor(latencies.length * q)]?.toFixed(1) ?? '-';
console.log('acked/s', Math.round(acked / seconds), 'p50', at(0.5), 'p99', at(0.99));

for (const p of peers) p.close();
await server.close();
await db.drop();
process.exit(0);

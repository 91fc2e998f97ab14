/**
 * `TANDEM_TEST_DATABASE_URL=… npx tsx test/bench/durable-throughput.ts`: acknowledged (stored)
 * updates per second with the server in this process, 50 raw clients on 10 documents, 8
 * updates in flight each, 3 s. A quick A/B for the write path (README "Second run"); the full
 * figure, with the server in its own process, is `npm run bench -- --only sync`.
 */
import { LoroDoc } from 'loro-crdt';
import { backends } from '../helpers/backends';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument, startTestServer } from '../helpers/test-server';
import { UpdateStatus } from '../../shared/protocol/index';
const db = await backends.find((b) => b.name === 'postgres')!.create();
const server = await startTestServer(db);
const docs = await Promise.all(Array.from({ length: 10 }, () => createDocument(server)));
const peers = await Promise.all(Array.from({ length: 50 }, () => RawPeer.connect(server.wsUrl, server.token)));
await Promise.all(peers.map((p, i) => p.joinAndWait(docs[i % 10]!)));
const typists = peers.map(() => { const doc = new LoroDoc(); return () => { const b = doc.oplogVersion(); const t = doc.getText('text'); t.insert(t.length, 'a'); doc.commit(); return doc.export({ mode: 'update', from: b }); }; });
let acked = 0; const lat: number[] = []; const started = performance.now(); let running = true;
await Promise.all(peers.map(async (peer, i) => {
  const inFlight = new Set<Promise<void>>();
  while (running) {
    while (inFlight.size < 8) { const sent = performance.now(); const id = peer.update(docs[i % 10]!, [typists[i]!()]); const p: Promise<void> = peer.ackFor(id, 60_000).then((a) => { if (a.status !== UpdateStatus.Ok) throw new Error(`status ${a.status}`); acked++; lat.push(performance.now() - sent); inFlight.delete(p); }); inFlight.add(p); }
    await Promise.race(inFlight);
    if (performance.now() - started > 3000) running = false;
  }
  await Promise.all(inFlight);
}));
const s = (performance.now() - started) / 1000;
lat.sort((a, b) => a - b);
console.log('acked/s', Math.round(acked / s), 'p50', lat[Math.floor(lat.length / 2)]?.toFixed(1), 'p99', lat[Math.floor(lat.length * 0.99)]?.toFixed(1));
for (const p of peers) p.close(); await server.close(); await db.drop(); process.exit(0);

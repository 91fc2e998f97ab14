/**
 * `npx tsx test/bench/compare/import-cost.ts`: what one received update costs a client, Loro
 * against Yjs, in one process with nothing else running. The comparison's latency at 100
 * connections and its join storm are bound by this on a 2-core machine (see bench-results/README.md "Against the
 * alternatives"): every receiving client pays it for every update of its document.
 */
import { LoroDoc } from 'loro-crdt';
import * as Y from 'yjs';
import { buildDocument } from './clients';
import { loadSequentialTrace, patchesOf } from '../../helpers/traces';

const ROUNDS = 400;
const PEERS = 4;
const INSERT = '⟪12345.678⟫x';

interface Replica {
  /** Makes one local edit and returns its update. */
  edit(): Uint8Array;
  receive(update: Uint8Array): void;
}

function loroReplica(subscribed: boolean): Replica {
  const doc = new LoroDoc();
  const text = doc.getText('text');
  if (subscribed) doc.subscribe(() => {});
  return {
    edit: () => {
      const before = doc.oplogVersion();
      text.insert(Math.floor(Math.random() * (text.length + 1)), INSERT);
      doc.commit();
      return doc.export({ mode: 'update', from: before });
    },
    receive: (u) => void doc.import(u),
  };
}

function yReplica(subscribed: boolean): Replica {
  const doc = new Y.Doc();
  const text = doc.getText('text');
  if (subscribed) text.observe(() => {});
  return {
    edit: () => {
      let update: Uint8Array | null = null;
      const take = (u: Uint8Array): void => void (update = u);
      doc.once('update', take);
      text.insert(Math.floor(Math.random() * (text.length + 1)), INSERT);
      return update!;
    },
    receive: (u) => Y.applyUpdate(doc, u),
  };
}

/**
 * µs per received update. `concurrent`: every peer edits, then all exchange (each update is
 * concurrent with the receiver's own); else one peer edits at a time and the others catch up.
 */
function perUpdate(make: () => Replica, concurrent: boolean): number {
  const peers = Array.from({ length: PEERS }, make);
  let ms = 0;
  let received = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const editors = concurrent ? peers : [peers[round % PEERS]!];
    const updates = editors.map((p) => ({ from: p, update: p.edit() }));
    for (const to of peers) {
      for (const { from, update } of updates) {
        if (from === to) continue;
        const started = performance.now();
        to.receive(update);
        ms += performance.now() - started;
        received++;
      }
    }
  }
  return (ms / received) * 1000;
}

/**
 * ms to load automerge-paper's history into an empty document. "then edit": and read its text
 * and make one local edit, which is when an editor can be used: Loro decodes a snapshot lazily,
 * so a snapshot that imports in ~1 ms pays ~60 ms at its first edit.
 */
function loadMs(): Record<string, number> {
  const patches = [...patchesOf(loadSequentialTrace('automerge-paper'))];
  const loro = buildDocument('loro', patches, 1);
  const update = (() => {
    const d = new LoroDoc();
    d.import(loro.bytes);
    return d.export({ mode: 'update' });
  })();
  const yjs = buildDocument('yjs', patches, 1);
  const time = (run: () => void): number => {
    run(); // warm
    const started = performance.now();
    for (let i = 0; i < 3; i++) run();
    return (performance.now() - started) / 3;
  };
  const loroLoad = (bytes: Uint8Array, subscribed: boolean, edit: boolean) => () => {
    const d = new LoroDoc();
    if (subscribed) d.subscribe(() => {});
    d.import(bytes);
    if (!edit) return d.free();
    const text = d.getText('text');
    text.insert(text.toString().length >> 1, 'x');
    d.commit();
    d.free();
  };
  return {
    'Loro snapshot, no subscriber': time(loroLoad(loro.bytes, false, false)),
    'Loro snapshot, no subscriber, then edit': time(loroLoad(loro.bytes, false, true)),
    'Loro snapshot, subscribed': time(loroLoad(loro.bytes, true, false)),
    'Loro update, no subscriber, then edit': time(loroLoad(update, false, true)),
    'Loro update, subscribed': time(loroLoad(update, true, false)),
    'Loro update, subscribed, then edit': time(loroLoad(update, true, true)),
    'Yjs update, observed, then edit': time(() => {
      const d = new Y.Doc();
      const text = d.getText('text');
      text.observe(() => {});
      Y.applyUpdate(d, yjs.bytes);
      text.insert(text.toString().length >> 1, 'x');
      d.destroy();
    }),
  };
}

const rows: [string, number][] = [];
for (const concurrent of [false, true]) {
  for (const subscribed of [false, true]) {
    const label = `${concurrent ? 'concurrent' : 'sequential'}, ${subscribed ? 'subscribed' : 'no subscriber'}`;
    rows.push([`Loro, ${label}`, perUpdate(() => loroReplica(subscribed), concurrent)]);
    rows.push([`Yjs, ${label}`, perUpdate(() => yReplica(subscribed), concurrent)]);
  }
}
process.stdout.write(`| one received keystroke (${PEERS} peers, ${ROUNDS} rounds) | µs |\n| --- | --- |\n`);
for (const [label, us] of rows) process.stdout.write(`| ${label} | ${us.toFixed(1)} |\n`);
process.stdout.write(`\n| load automerge-paper (260k edits) into an empty document | ms |\n| --- | --- |\n`);
for (const [label, ms] of Object.entries(loadMs())) process.stdout.write(`| ${label} | ${ms.toFixed(1)} |\n`);

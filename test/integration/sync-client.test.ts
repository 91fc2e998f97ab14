/**
 * The sync client's outbox under a backlog: local commits that wait for the in-flight window
 * go out merged, one update per run of consecutive commits, so the server, the log and every
 * other client import it once. Entries that are not this session's commits go as they are, in
 * their place.
 */
import { LoroDoc } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { loadStoredDocument } from '../../db/repositories/doc-log';
import { backends } from '../helpers/backends';
import { useTestServer } from '../helpers/server-fixture';
import { RawPeer } from '../helpers/raw-peer';
import { createDocument } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';

describe.each(backends)('sync client outbox ($name)', (backend) => {
  const fixture = useTestServer(backend);

  /** A writer allowed one batch in flight, and a raw reader of what the server relays. */
  async function writerAndReader() {
    const docId = await createDocument(fixture.server);
    const client = fixture.client({ maxInFlightBatches: 1 });
    const room = await client.open(docId);
    await room.whenSynced();
    const reader = await RawPeer.connect(fixture.server.wsUrl, fixture.server.token);
    await reader.joinAndWait(docId);
    const seen = (): string => {
      const doc = new LoroDoc();
      doc.importBatch(reader.updatesFor(docId));
      return textOf(doc);
    };
    return { docId, room, reader, seen };
  }

  it('merges commits that waited for the window into one update: one relay, one log entry', async () => {
    const { docId, room, reader, seen } = await writerAndReader();
    const text = room.doc.getText(TEXT);
    const singles: number[] = [];
    const off = room.doc.subscribeLocalUpdates((u) => void singles.push(u.length));
    for (let i = 0; i < 50; i++) {
      text.insert(text.length, `${i} `);
      room.doc.commit();
    }
    off();
    // The first commit went at once; the other 49 wait for its Ack.
    expect(room.unacknowledged).toBe(50);
    await room.whenAcknowledged();
    const expected = text.toString();
    await reader.until(() => seen() === expected, { what: 'the writer’s text' });
    const relayed = reader.updatesFor(docId);
    expect(relayed).toHaveLength(2);
    const stored = await loadStoredDocument(fixture.db.handle.db, docId);
    expect(stored.log.flatMap((e) => e.updates)).toHaveLength(2);
    // The merged update is smaller than the 49 it replaces.
    expect(relayed[1]!.length).toBeLessThan(singles.slice(1).reduce((n, s) => n + s, 0) / 4);
    reader.close();
  });

  it('leaves an update imported from elsewhere as it is, between the runs of commits around it, in order', async () => {
    const { docId, room, reader, seen } = await writerAndReader();
    const text = room.doc.getText(TEXT);
    const type = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        text.insert(text.length, `${i} `);
        room.doc.commit();
      }
    };
    type(0, 10);
    // An offline copy's edit (another peer), imported as a local update.
    const elsewhere = LoroDoc.fromSnapshot(room.doc.export({ mode: 'snapshot' }));
    const before = elsewhere.oplogVersion();
    elsewhere.getText(TEXT).insert(0, '[from a copy] ');
    elsewhere.commit();
    const imported = elsewhere.export({ mode: 'update', from: before });
    room.importLocal(imported);
    type(10, 20);
    await room.whenAcknowledged();
    const expected = text.toString();
    expect(expected.startsWith('[from a copy] 0 1 ')).toBe(true);
    await reader.until(() => seen() === expected, { what: 'every edit' });
    // The first commit alone, then commits 1–9 merged, the copy's update as sent, commits 10–19 merged.
    const relayed = reader.updatesFor(docId);
    expect(relayed).toHaveLength(4);
    expect(relayed[2]).toEqual(imported);
    reader.close();
  });
});

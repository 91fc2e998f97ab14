/**
 * Must-show 1: the official `loro-websocket` client (npm, unmodified) syncs with Tandem.
 */
import { EphemeralStore, LoroDoc } from 'loro-crdt';
import { LoroAdaptor, LoroEphemeralAdaptor } from 'loro-adaptors/loro';
import { LoroWebsocketClient } from 'loro-websocket/client';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { backends } from '../helpers/backends';
import { useTestServer } from '../helpers/server-fixture';
import { encodeJoinAuth } from '../../shared/protocol/index';
import { createDocument, createShareLink } from '../helpers/test-server';
import { TEXT, textOf } from '../helpers/traces';
import { waitFor } from '../helpers/wait';

// The official client uses the WHATWG WebSocket global, which Node 20 lacks.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

describe.each(backends)('official loro-websocket client ($name)', (backend) => {
  const fixture = useTestServer(backend);

  /** The official client, unmodified: anonymous, joining through an edit link (its token goes in the join payload). */
  async function joinWith(docId: string, presence?: EphemeralStore): Promise<LoroDoc> {
    const link = (links[docId] ??= await createShareLink(fixture.server, docId, 'edit'));
    const client = new LoroWebsocketClient({ url: fixture.server.wsUrl, disablePing: true });
    fixture.afterTest(() => client.destroy());
    await client.waitConnected();
    const doc = new LoroDoc();
    const adaptor = new LoroAdaptor(doc);
    await client.join({ roomId: docId, crdtAdaptor: adaptor, auth: encodeJoinAuth({ share: link.token }) });
    await adaptor.waitForReachingServerVersion();
    if (presence) await client.join({ roomId: docId, crdtAdaptor: new LoroEphemeralAdaptor(presence), auth: encodeJoinAuth({ share: link.token }) });
    return doc;
  }
  const links: Record<string, { token: string }> = {};

  it('two clients edit concurrently and converge; a late joiner gets everything, over 256 KiB', async () => {
    const docId = await createDocument(fixture.server);
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

  it("shares presence through its ephemeral adaptor: it sees Tandem's entries, and the server stamps who it is on its own", async () => {
    const docId = await createDocument(fixture.server);
    const { user: owner } = (await (await fetch(`${fixture.server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${fixture.server.token}` } })).json()) as {
      user: { id: string; displayName: string };
    };
    const store = new EphemeralStore(60_000);
    fixture.afterTest(() => store.destroy());
    store.set('cursor', { pos: 3, user: owner.id, name: owner.displayName }); // said before joining: sent on join
    await joinWith(docId, store);
    const tandem = fixture.client();
    await (await tandem.open(docId)).whenSynced();
    const presence = tandem.presence(docId);
    await waitFor(() => presence.others().size === 1, { what: "the official client's entry at Tandem's client" });
    const [key, entry] = [...presence.others()][0]!;
    expect(key).toMatch(/\/cursor$/);
    expect(entry).toMatchObject({ pos: 3, user: expect.stringMatching(/^anon:/), name: expect.stringMatching(/^Anonymous /) });
    presence.set('field', { idle: false, anchor: null, head: null });
    await waitFor(() => store.keys().some((k) => k.endsWith('/field')), { what: "Tandem's entry at the official client" });
    const theirs = store.get(store.keys().find((k) => k.endsWith('/field'))!);
    expect(theirs).toMatchObject({ idle: false, user: owner.id, name: owner.displayName });
    // It changes its entry the way it does (one update per set): the change arrives, still stamped.
    store.set('cursor', { pos: 5 });
    await waitFor(() => presence.others().get(key)?.pos === 5, { what: 'the change' });
    expect(presence.others().get(key)).toMatchObject({ user: entry.user, name: entry.name });
  });
});

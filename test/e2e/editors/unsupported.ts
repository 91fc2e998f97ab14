/**
 * Editors Tandem must leave alone, in any browser: editors it recognises and has no adapter for
 * (Draft.js) are refused with a reason when the person asks, and hand-made editors that
 * keep their own model and render over Tandem's changes make the binding stop at the first
 * change they undo. Either way the page's text is the page's, and the shared document keeps
 * every collaborator's text (the editor's taking back a change is never sent as a deletion).
 */
import { LoroDoc } from 'loro-crdt';
import { expect } from 'vitest';
import { TEXT_CONTAINER } from '../../../shared/document';
import { nodeSyncClient } from '../../helpers/clients';
import { waitFor } from '../../helpers/wait';
import { clickCollaborate, tandemUi, untilBound, waitReady, type Tab } from './driver';
import type { Person, ScenarioEnv } from './scenarios';

/** Focuses an element of the page (a real click, as a person would). */
async function focus(tab: Tab, selector: string): Promise<void> {
  const box = await tab.evaluate((s) => {
    const r = document.querySelector(s)!.getBoundingClientRect();
    return { x: r.left + Math.min(20, r.width / 2), y: r.top + r.height / 2 };
  }, selector);
  await tab.click(box.x, box.y);
}

export async function unsupportedScenario(pagesUrl: string, a: Person, env: ScenarioEnv & { wsUrl: string }): Promise<void> {
  // Recognised, no adapter: refused when asked, with the reason; nothing bound, nothing changed.
  for (const [page, selector, read, name] of [['draft', '[contenteditable]', () => (window as unknown as { draftText(): string }).draftText(), 'Draft.js']] as const) {
    const tab = await a.open(`${pagesUrl}/${page}.html`);
    await waitReady(tab);
    const before = await tab.evaluate(read, null);
    await focus(tab, selector);
    await clickCollaborate(tab);
    const notice = await waitFor(async () => (await tandemUi(tab)).notice, { what: `the ${name} refusal` });
    expect(notice).toContain(`${name} editors are not supported yet`);
    expect((await tandemUi(tab)).badges).toEqual([]);
    expect(await tab.evaluate(read, null)).toBe(before);
    await tab.close();
  }

  // Editors that fight: bound (their text wins, nothing is written), then a collaborator's change
  // is written once, taken back by the page, and the binding stops.
  for (const id of ['reverter', 'renderer']) {
    const url = `${pagesUrl}/fights.html?${id}`; // a document per editor, found by the page it started on
    const tab = await a.open(url);
    await waitReady(tab);
    const own = await tab.evaluate((i) => (window as unknown as Record<string, () => string>)[`${i}Text`]!(), id);
    await focus(tab, `#${id}`);
    await clickCollaborate(tab);
    await untilBound(tab);
    const link = await env.linkFor(a.token, url);
    await waitFor(async () => (await env.storedText(link.id, a.token)) === own, { what: 'the document to hold the editor text' });

    // A collaborator appends to the document.
    const client = nodeSyncClient(env.wsUrl, { token: a.token });
    try {
      const room = await client.open(link.id, new LoroDoc());
      await room.whenSynced();
      const text = room.doc.getText(TEXT_CONTAINER);
      text.insert(text.length, ' REMOTE');
      room.doc.commit();
      await room.whenAcknowledged();
      const notice = await waitFor(async () => (await tandemUi(tab)).notice?.includes('stopped') && (await tandemUi(tab)).notice, { what: `Tandem to stop in #${id}`, timeoutMs: 10_000 });
      expect(notice).toContain('Tandem stopped collaborating in this editor: the page rewrote what Tandem wrote into it');
      expect((await tandemUi(tab)).badges).toEqual([]);
      // The page keeps its own text; the document keeps the collaborator's (not deleted by the revert).
      expect(await tab.evaluate((i) => (window as unknown as Record<string, () => string>)[`${i}Text`]!(), id)).toBe(own);
      expect(await tab.evaluate((i) => document.getElementById(i)!.textContent, id)).toBe(own);
      expect(await env.storedText(link.id, a.token)).toBe(`${own} REMOTE`);
      // Nothing more is written into it.
      text.insert(text.length, ' AGAIN');
      room.doc.commit();
      await room.whenAcknowledged();
      await waitFor(async () => (await env.storedText(link.id, a.token)) === `${own} REMOTE AGAIN`, { what: 'the second change stored' });
      expect(await tab.evaluate((i) => document.getElementById(i)!.textContent, id)).toBe(own);
    } finally {
      client.close();
    }
    await tab.close();
  }
}

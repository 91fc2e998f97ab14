/**
 * The extension against hostile pages and failures, in Chromium: each case has a defined outcome
 * the person can see, and no text is lost.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait';
import { chromiumAvailable, chromiumSuite, collaborate, docIdOf, openWhereWritten, replaceNotesInPage } from './harness';

describe.skipIf(!chromiumAvailable())('extension against hostile pages and failures (Chromium)', () => {
  const env = chromiumSuite();
  const { user } = env;

  const value = (page: Page, selector = '#notes'): Promise<string> => page.locator(selector).inputValue();
  const badge = (page: Page): Promise<string> =>
    page
      .locator('[data-tandem=badge]')
      .textContent()
      .then((t) => t ?? '');

  const replaceNotes = (page: Page, text: string): Promise<void> => page.evaluate(replaceNotesInPage, text);

  /** A and B both bound to A's #notes on fields.html, starting from `text`. */
  async function pair(text: string) {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', text);
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB)) === text, { what: 'B to join' });
    return { a, b, pageA, pageB, link: link! };
  }

  it('a page that rewrites the field behind our back is reconciled, not diverged', async () => {
    const { pageA, pageB } = await pair('Start.');
    await pageA.evaluate(() => {
      const el = document.getElementById('notes') as HTMLTextAreaElement;
      el.value = `${el.value} The page wrote this.`; // no event at all
    });
    await waitFor(async () => (await value(pageB)) === 'Start. The page wrote this.', { what: 'B to get the page’s write' });
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('End');
    await pageB.keyboard.type(' B.');
    await waitFor(async () => (await value(pageA)) === 'Start. The page wrote this. B.', { what: 'A to stay in step' });
  });

  it('a form that reads its field on change keeps collaborators’ text through its next render', async () => {
    const { pageA, pageB } = await pair('Start.');
    await pageA.locator('#notes').press('End');
    await pageA.keyboard.type(' More.');
    await waitFor(async () => (await value(pageB)) === 'Start. More.', { what: 'B to get A’s typing' });
    // B is not in its field: the form's render puts its model back, which followed the change events.
    await pageB.evaluate(() => (window as any).renderNotes());
    expect(await value(pageB)).toBe('Start. More.');
    // B in its field while A types: the change comes when B leaves it.
    await pageB.locator('#notes').click();
    await pageA.keyboard.type(' Again.');
    await waitFor(async () => (await value(pageB)) === 'Start. More. Again.', { what: 'B to get more' });
    await pageB.locator('#subject').click();
    await pageB.evaluate(() => (window as any).renderNotes());
    expect(await value(pageB)).toBe('Start. More. Again.');
    expect(await value(pageA)).toBe('Start. More. Again.');
  });

  it('a page that removes the field and adds it again gets the binding back', async () => {
    const { pageA, pageB } = await pair('Kept text.');
    await replaceNotes(pageA, ''); // a framework re-render: a new, empty element
    await waitFor(async () => (await value(pageA)) === 'Kept text.', { what: 'the new field to get the document’s text' });
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('End');
    await pageB.keyboard.type(' More.');
    await waitFor(async () => (await value(pageA)) === 'Kept text. More.', { what: 'the new field to follow' });
  });

  it('a field replaced by one holding other text (another field, a draft) is left alone and the person told', async () => {
    const { pageA, pageB } = await pair('Shared text.');
    await replaceNotes(pageA, 'A draft of mine.'); // what a single-page site shows next under the same id
    await pageA.locator('[data-tandem=notice]', { hasText: 'the page replaced it with one that holds other text' }).waitFor();
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('End');
    await pageB.keyboard.type(' More.');
    await waitFor(async () => (await value(pageB)) === 'Shared text. More.', { what: 'B to type' });
    expect(await value(pageA)).toBe('A draft of mine.');
    expect(await pageA.locator('[data-tandem=badge]').count()).toBe(0);
  });

  it('a page clicking the extension’s controls from script gets nothing', async () => {
    const a = await user();
    const page = await a.browser.page(`${env.pages.url}/fields.html`);
    await page.locator('#notes').click();
    await page.locator('[data-tandem=collaborate]').waitFor();
    await page.evaluate(() => {
      const button = document.querySelector('[data-tandem-ui]')!.shadowRoot!.querySelector('[data-tandem=collaborate]') as HTMLButtonElement;
      button.click(); // untrusted
      button.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    // A trusted click afterwards does work: so the forged ones were refused, not slow.
    await page.locator('#subject').click();
    await page.locator('[data-tandem=collaborate]').click();
    await page.locator('[data-tandem=badge][data-state=saved]').waitFor();
    const res = await fetch(`${env.server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${a.token}` } });
    const { documents } = (await res.json()) as { documents: { originField: string }[] };
    expect(documents).toHaveLength(1);
    expect(documents[0]!.originField).toContain('subject');
  });

  it('a page posing as a Tandem server cannot switch the server: the person is asked, naming the origin', async () => {
    const a = await user();
    const page = await a.browser.page(`${env.pages.url}/impostor.html`);
    // The extension has taken the page (the click is ours to hear) once it says it is installed.
    await page.locator('#tandem-extension-status', { hasText: 'The Tandem extension is installed' }).waitFor();
    await page.locator('#tandem-use-server').click();
    const dialog = page.locator('[data-tandem-ui] [role=alertdialog]');
    expect(await dialog.textContent()).toContain(env.pages.url);
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    const stored = await a.browser.worker.evaluate(() =>
      (globalThis as unknown as { chrome: { storage: { local: { get(k: string): Promise<Record<string, unknown>> } } } }).chrome.storage.local.get('serverUrl'),
    );
    expect(stored.serverUrl).toBe(env.server.httpUrl);
  });

  it('a revoked link while bound: the field says so and keeps its text', async () => {
    const { a, pageB, link } = await pair('Shared, then not.');
    const docId = docIdOf(link);
    const auth = { authorization: `Bearer ${a.token}` };
    const { links } = (await (await fetch(`${env.server.httpUrl}/api/documents/${docId}/links`, { headers: auth })).json()) as { links: { id: string }[] };
    for (const l of links) await fetch(`${env.server.httpUrl}/api/documents/${docId}/links/${l.id}`, { method: 'DELETE', headers: auth });
    await waitFor(async () => (await badge(pageB)).includes('access to this document was removed'), { what: 'B’s badge to say access was removed' });
    await pageB.locator('#notes').click();
    await pageB.keyboard.type(' local');
    expect(await value(pageB)).toContain('Shared, then not.');
    expect(await value(pageB)).toContain('local');
  });

  it('the server unreachable at start: a clear notice, the field untouched', async () => {
    const a = await user();
    const page = await a.browser.page(`${env.pages.url}/fields.html`);
    await page.fill('#notes', 'Mine.');
    await env.server.down();
    try {
      await page.locator('#notes').click();
      await page.locator('[data-tandem=collaborate]').click();
      await page.locator('[data-tandem=notice]', { hasText: 'Cannot reach the Tandem server' }).waitFor();
      expect(await value(page)).toBe('Mine.');
    } finally {
      await env.server.up();
    }
  });

  it('the background restarted while bound (Chrome stopped its service worker): the binding resumes, nothing typed meanwhile is lost', async () => {
    const { a, pageA, pageB } = await pair('Before the restart.');
    const cdp = await a.browser.context.newCDPSession(pageA);
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
    const worker = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${a.browser.extensionId}/`))!;
    await pageA.locator('#notes').click();
    await pageA.locator('#notes').press('End');
    await cdp.send('Target.closeTarget', { targetId: worker.targetId });
    await pageA.keyboard.type(' Typed meanwhile.');
    const expected = 'Before the restart. Typed meanwhile.';
    await waitFor(async () => (await value(pageB)) === expected, { what: 'B to get what A typed across the restart', timeoutMs: 30_000 });
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('End');
    await pageB.keyboard.type(' B.');
    await waitFor(async () => (await value(pageA)) === `${expected} B.`, { what: 'A to keep following' });
  });

  it('the extension reloaded (updated) while bound: the field says so and keeps its text', async () => {
    const { a, pageA } = await pair('Before the update.');
    await a.browser.worker.evaluate(() => (globalThis as unknown as { chrome: { runtime: { reload(): void } } }).chrome.runtime.reload());
    await waitFor(async () => (await badge(pageA)).includes('Tandem was updated'), { what: 'A’s badge to explain' });
    await pageA.locator('#notes').click();
    await pageA.locator('#notes').press('End');
    await pageA.keyboard.type(' Typed meanwhile.');
    expect(await value(pageA)).toBe('Before the update. Typed meanwhile.');
    // What was typed waits in the tab's session storage for the next binding of the same field
    // (replayed onto the document by FieldBinding.replay).
    const stash = await pageA.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.startsWith('tandem:unsent:'))?.[1] ?? null);
    const { locator, ...kept } = JSON.parse(stash!) as { locator: string };
    expect(kept).toEqual({ base: 'Before the update.', text: 'Before the update. Typed meanwhile.' });
    expect(JSON.parse(locator)).toMatchObject({ frame: pageA.url(), path: '', steps: ['#notes'] });
  });
});

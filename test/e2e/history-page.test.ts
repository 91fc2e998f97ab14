/**
 * The history panel of the server's document page in Chromium (no extension needed): open a
 * version with its author's colour, name the current state, restore it after more typing; the
 * editor shows the restored text. (A restore reaching the other person's bound field, with the
 * extension: test/e2e/chromium.test.ts "history: …".)
 */
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDatabase } from '../helpers/backends';
import { createDocument, signUp, startTestServer, type RunningServer } from '../helpers/test-server';

describe('history panel (Chromium)', () => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await backends[0]!.create();
    server = await startTestServer(db);
  });

  afterAll(async () => {
    await server.close();
    await db.drop();
  });

  it('lists versions, opens one in its author’s colour, names the current state and restores it after more typing', async () => {
    const alice = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token: alice.token }, { text: 'Hello history' });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const context = await browser.newContext();
      const [name, value] = alice.cookie.split('=');
      await context.addCookies([{ name: name!, value: value!, url: server.httpUrl }]);
      const page = await context.newPage();
      await page.goto(`${server.httpUrl}/d/${docId}?history`);
      await page.waitForSelector('#tandem-history:not([hidden]) li', { timeout: 30_000 });
      expect(await page.locator('#tandem-history li').count()).toBe(1);

      await page.locator('#tandem-history li button.open').first().click();
      const span = page.locator('#tandem-history-view span[data-author]');
      await span.first().waitFor({ timeout: 30_000 });
      expect(await page.locator('#tandem-history-view').innerText()).toBe('Hello history');
      expect(await span.first().getAttribute('data-author')).toBe(`user:${alice.id}`);
      expect(await span.first().evaluate((e) => getComputedStyle(e).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');

      await page.locator('#tandem-editor').click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' and more');
      await page.waitForFunction(() => document.getElementById('tandem-editor-status')?.dataset.state === 'saved', undefined, { timeout: 30_000 });
      // Alice's typing joins her version of a moment ago; naming it closes it.
      await page.fill('#tandem-history-name', 'Draft 2');
      await page.click('#tandem-history-name-button');
      await page.waitForFunction(() => document.querySelector('#tandem-history li')?.textContent?.includes('Draft 2'), undefined, { timeout: 30_000 });
      expect(await page.locator('#tandem-history li').count()).toBe(1);
      await page.locator('#tandem-editor').click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' again');
      await page.waitForFunction(() => document.getElementById('tandem-editor-status')?.dataset.state === 'saved', undefined, { timeout: 30_000 });
      await page.click('#tandem-history-refresh');
      await page.waitForFunction(() => document.querySelectorAll('#tandem-history li').length === 2, undefined, { timeout: 30_000 });

      await page.locator('#tandem-history li button.restore').first().click();
      await page.waitForFunction(() => document.getElementById('tandem-editor')?.textContent === 'Hello history and more', undefined, { timeout: 30_000 });
      await page.waitForFunction(() => document.querySelectorAll('#tandem-history li').length === 3, undefined, { timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });
});

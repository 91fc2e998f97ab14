/**
 * Editors whose field is a frame's body (the TinyMCE and CKEditor way), in Chromium: a binding
 * is remembered by the place it was made (top page, frame origin and position), never by the
 * frame's address, which is about:srcdoc or about:blank on every site (issue 23); Tandem's
 * presence never changes what such an editor would submit; and such an editor is a field like
 * any other: text, formatting and carets (issue 17, item 6). TinyMCE itself too: what it would
 * submit is the same with Tandem as without.
 */
import { chromium, type FrameLocator, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait';
import { startEditorPages } from './editors/pages';
import { CHROMIUM, ChromiumUser, chromiumAvailable, chromiumSuite, docIdOf, openWhereWritten, storedText } from './harness';

const FRAMES = ['#srcdoc', '#blank'] as const;

/** A frame's body as its page would submit it (TinyMCE's `getContent` is its body's HTML). */
const bodyHtml = (page: Page, frame: string): Promise<string> =>
  page
    .frameLocator(frame)
    .locator('body')
    .evaluate((b) => b.innerHTML);

const badge = (scope: Page | FrameLocator) => scope.locator('[data-tandem=badge]');

describe.skipIf(!chromiumAvailable())('frame editors in Chromium', () => {
  const env = chromiumSuite();

  /** Focuses each frame's editor until Tandem's control shows in it: its binding code is in and has told the background where it is. */
  async function focusUntilControl(page: Page): Promise<void> {
    for (const frame of FRAMES) {
      await page.frameLocator(frame).locator('body').click();
      await page.frameLocator(frame).locator('[data-tandem=collaborate]').waitFor();
    }
  }

  it('a binding made in srcdoc and about:blank frames on one origin is never restored on another, before and after a browser restart', async () => {
    const a = await env.user();
    const x = env.pages.url;
    const y = env.pages.otherOriginUrl;
    const pageX = await a.browser.page(`${x}/framed-editors.html`);
    const secret: Record<string, string> = {};
    for (const frame of FRAMES) {
      const body = pageX.frameLocator(frame).locator('body');
      await body.click();
      await body.press('Control+End');
      await pageX.keyboard.type(` SECRET FROM X ${frame}`, { delay: 5 });
      await pageX.frameLocator(frame).locator('[data-tandem=collaborate]').click();
      await badge(pageX.frameLocator(frame)).and(pageX.frameLocator(frame).locator('[data-state=saved]')).waitFor();
      secret[frame] = await bodyHtml(pageX, frame);
    }
    await pageX.close();

    /** Y's page opens and its editors get focus (its frames connect first); then X's page opens and its bindings come back: Y's never did. */
    const check = async (browser: ChromiumUser): Promise<void> => {
      const pageY = await browser.page(`${y}/framed-editors.html`);
      const untouched = { '#srcdoc': await bodyHtml(pageY, '#srcdoc'), '#blank': await bodyHtml(pageY, '#blank') };
      expect(Object.values(untouched).join()).not.toContain('SECRET');
      await focusUntilControl(pageY);
      const againX = await browser.page(`${x}/framed-editors.html`);
      for (const frame of FRAMES) {
        await badge(againX.frameLocator(frame)).and(againX.frameLocator(frame).locator('[data-state=saved]')).waitFor({ timeout: 20_000 });
        await waitFor(async () => (await bodyHtml(againX, frame)) === secret[frame], { what: `X's ${frame} binding to come back with its text` });
      }
      for (const frame of FRAMES) {
        expect(await bodyHtml(pageY, frame)).toBe(untouched[frame]);
        expect(await badge(pageY.frameLocator(frame)).count()).toBe(0);
        // Still offered, as any unbound field is: nothing bound it behind the person's back.
        await pageY.frameLocator(frame).locator('body').click();
        await pageY.frameLocator(frame).locator('[data-tandem=collaborate]').waitFor();
      }
      await pageY.close();
      await againX.close();
    };
    await check(a.browser);

    const profile = a.browser.profileDir;
    env.users.splice(env.users.indexOf(a.browser), 1);
    await a.browser.close(false);
    const restarted = await ChromiumUser.launch(profile);
    env.users.push(restarted);
    await check(restarted);
  });

  it("an iframe-body editor's content, as its page would submit it, is byte-identical with and without the extension, bound and unbound", async () => {
    /** The same keys in each frame; `bind` between the two bursts when given. Returns the body HTML after each step. */
    const typeInFrames = async (page: Page, bind?: (frame: string) => Promise<void>): Promise<string[]> => {
      const seen: string[] = [];
      for (const frame of FRAMES) {
        const body = page.frameLocator(frame).locator('body');
        await body.click();
        await body.press('Control+End');
        await page.keyboard.type(' one', { delay: 5 });
        seen.push(await bodyHtml(page, frame));
        if (bind) {
          await bind(frame);
          seen.push(await bodyHtml(page, frame));
        }
        await body.press('Control+End');
        await page.keyboard.type(' two', { delay: 5 });
        await page.keyboard.press('Enter');
        await page.keyboard.type('three', { delay: 5 });
        seen.push(await bodyHtml(page, frame));
      }
      return seen;
    };

    const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    let expected: string[];
    try {
      const page = await plain.newPage();
      await page.goto(`${env.pages.url}/framed-editors.html`);
      expected = await typeInFrames(page);
    } finally {
      await plain.close();
    }

    const a = await env.user();
    const unbound = await a.browser.page(`${env.pages.url}/framed-editors.html`);
    expect(await typeInFrames(unbound)).toEqual(expected);

    const bound = await a.browser.page(`${env.pages.url}/framed-editors.html`);
    const withBinding = await typeInFrames(bound, async (frame) => {
      await bound.frameLocator(frame).locator('[data-tandem=collaborate]').click();
      await badge(bound.frameLocator(frame)).and(bound.frameLocator(frame).locator('[data-state=saved]')).waitFor();
    });
    // Per frame: after " one", after binding (unchanged), after " two" + Enter + "three".
    expect(withBinding).toEqual([expected[0], expected[0], expected[1], expected[2], expected[2], expected[3]]);
  });

  it("a srcdoc frame's body editor is a first-class field: the server's page shows its text and formatting, formatting crosses both ways, carets stay put", async () => {
    const a = await env.user();
    const b = await env.user();
    const pageA = await a.browser.page(`${env.pages.url}/framed-editors.html`);
    const srcdocA = pageA.frameLocator('#srcdoc');
    await srcdocA.locator('body').click();
    await srcdocA.locator('[data-tandem=collaborate]').click();
    await badge(srcdocA).and(srcdocA.locator('[data-state=saved]')).waitFor();
    await srcdocA.locator('body').press('Control+End');
    await pageA.keyboard.type(' and ', { delay: 5 });
    await pageA.keyboard.press('Control+b');
    await pageA.keyboard.type('bold', { delay: 5 });
    await pageA.keyboard.press('Control+b');
    await pageA.keyboard.type('.', { delay: 5 });
    expect(await bodyHtml(pageA, '#srcdoc')).toBe('<p>In a srcdoc frame and <b>bold</b>.</p>');
    const [link] = await a.browser.popupLinks();
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === 'In a srcdoc frame and bold.', { what: 'the text stored, without a line the field does not show' });

    // The server's own page, in a browser without the extension.
    const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const serverPage = await plain.newPage();
      await serverPage.goto(link!);
      await waitFor(async () => (await serverPage.locator('#tandem-editor').innerHTML()) === 'In a srcdoc frame and <strong>bold</strong>.', {
        what: "the server's page to show the text and its bold",
      });
    } finally {
      await plain.close();
    }

    const pageB = await openWhereWritten(b.browser, link!);
    const srcdocB = pageB.frameLocator('#srcdoc');
    await badge(srcdocB).and(srcdocB.locator('[data-state=saved]')).waitFor();
    expect(await bodyHtml(pageB, '#srcdoc')).toBe('<p>In a srcdoc frame and <strong>bold</strong>.</p>');

    // A's caret after "In a"; B types in italics at the end (B clicks its editor: Tandem's badge is not over the text).
    const caretA = (): Promise<[string | null, number]> =>
      srcdocA.locator('body').evaluate((body) => {
        const s = body.ownerDocument.getSelection()!;
        return [s.anchorNode?.textContent ?? null, s.anchorOffset];
      });
    await srcdocA.locator('p').evaluate((p) => p.ownerDocument.getSelection()!.collapse(p.firstChild!, 4));
    await srcdocB.locator('body').click();
    await srcdocB.locator('body').press('Control+End');
    await pageB.keyboard.type(' ', { delay: 5 });
    await pageB.keyboard.press('Control+i');
    await pageB.keyboard.type('B types', { delay: 20 });
    await waitFor(async () => (await bodyHtml(pageA, '#srcdoc')) === '<p>In a srcdoc frame and <b>bold</b>. <em>B types</em></p>', { what: "B's italic typing at A" });
    expect(await caretA()).toEqual(['In a srcdoc frame and ', 4]);
    await pageA.keyboard.type('X', { delay: 5 });
    const expected = 'In aX srcdoc frame and bold. B types';
    await waitFor(async () => (await bodyHtml(pageB, '#srcdoc')) === '<p>In aX srcdoc frame and <strong>bold</strong>. <i>B types</i></p>', { what: "A's typing at B, where A's caret was" });
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === expected, { what: 'the stored document' });
  });

  // One retry: once in four full runs (2026-12-05) this hung until the 60 s test timeout (it takes
  // 5-7 s; 4 of 4 runs alone passed). Where it hung was not recorded: the next one to see it
  // should log the Collaborate control's state before the click.
  it('TinyMCE: the content the page would submit (getContent) is byte-identical with and without the extension, bound and unbound', { retry: 1 }, async () => {
    const editorPages = await startEditorPages();
    const content = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { tinymce: { get(id: string): { getContent(): string } } }).tinymce.get('shared-area').getContent());
    const open = async (page: Page): Promise<void> => {
      await page.goto(`${editorPages.url}/tinymce.html`);
      await page.locator('html[data-editor-ready=true]').waitFor();
    };
    /** The same keys in the shared editor; `bind` between the two bursts when given. Returns getContent() after each step. */
    const typeInEditor = async (page: Page, bind?: () => Promise<void>): Promise<string[]> => {
      const body = page.frameLocator('#shared-area_ifr').locator('body');
      const seen: string[] = [];
      await body.click();
      await body.press('Control+End');
      await page.keyboard.type(' one', { delay: 5 });
      seen.push(await content(page));
      if (bind) {
        await bind();
        seen.push(await content(page));
      }
      await body.press('Control+End');
      await page.keyboard.type(' two', { delay: 5 });
      await page.keyboard.press('Enter');
      await page.keyboard.type('three', { delay: 5 });
      seen.push(await content(page));
      return seen;
    };
    try {
      const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
      let expected: string[];
      try {
        const page = await plain.newPage();
        await open(page);
        expected = await typeInEditor(page);
      } finally {
        await plain.close();
      }
      expect(expected[1]).toBe('<p>Start here.</p>\n<p>Second line. one two</p>\n<p>three</p>');

      const a = await env.user();
      const unbound = await a.browser.context.newPage();
      await open(unbound);
      expect(await typeInEditor(unbound)).toEqual(expected);

      const bound = await a.browser.context.newPage();
      await open(bound);
      const withBinding = await typeInEditor(bound, async () => {
        await bound.locator('[data-tandem=collaborate]').click();
        await bound.locator('[data-tandem=badge][data-state=saved]').waitFor();
      });
      expect(withBinding).toEqual([expected[0], expected[0], expected[1]]);
    } finally {
      await editorPages.close();
    }
  });

  it('the shortcut binds the focused frame editor only, not every frame editor of the page', async () => {
    const a = await env.user();
    const page = await a.browser.page(`${env.pages.url}/framed-editors.html`);
    const srcdoc = page.frameLocator('#srcdoc');
    await srcdoc.locator('body').click();
    await srcdoc.locator('[data-tandem=collaborate]').waitFor();
    // What Alt+Shift+C does (headless Chromium sends no extension shortcuts): the binding code into every frame of the tab, then the message to all of them.
    await a.browser.worker.evaluate(async (url) => {
      const api = (globalThis as unknown as { chrome: typeof import('wxt/browser').browser }).chrome;
      const [tab] = await api.tabs.query({ url });
      await api.scripting.executeScript({ target: { tabId: tab!.id!, allFrames: true }, files: ['/binding.js'] });
      await api.tabs.sendMessage(tab!.id!, { t: 'collaborate-focused' });
    }, page.url());
    await badge(srcdoc).and(srcdoc.locator('[data-state=saved]')).waitFor();
    // The about:blank editor was not focused: unbound, so it offers Collaborate when focused.
    const blank = page.frameLocator('#blank');
    await blank.locator('body').click();
    await blank.locator('[data-tandem=collaborate]').waitFor();
    expect(await badge(blank).count()).toBe(0);
    expect(await a.browser.popupLinks()).toHaveLength(1);
  });

  it('a field in a cross-origin iframe is bound again when its page opens, and not when the frame is opened on its own', async () => {
    const a = await env.user();
    const page = await a.browser.page(`${env.pages.url}/cross-frame.html`);
    const cross = page.frameLocator('#cross');
    await cross.locator('#framed').fill('across origins');
    await cross.locator('#framed').click();
    await cross.locator('[data-tandem=collaborate]').click();
    await badge(cross).and(cross.locator('[data-state=saved]')).waitFor();
    await page.close();

    // The frame's own page, top-level: another place (its top page differs), so nothing comes back.
    const alone = await a.browser.page(`${env.pages.otherOriginUrl}/inner.html`);
    await alone.locator('#framed').click();
    await alone.locator('[data-tandem=collaborate]').waitFor();
    const again = await a.browser.page(`${env.pages.url}/cross-frame.html`);
    await badge(again.frameLocator('#cross')).and(again.frameLocator('#cross').locator('[data-state=saved]')).waitFor({ timeout: 20_000 });
    expect(await again.frameLocator('#cross').locator('#framed').inputValue()).toBe('across origins');
    expect(await alone.locator('#framed').inputValue()).toBe('');
    expect(await badge(alone).count()).toBe(0);
  });
});

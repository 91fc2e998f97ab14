/**
 * Fields Firefox hides from ordinary content scripts, in Firefox ESR (the MV2 build): a textarea
 * in a closed shadow root, and editors whose field is the body of a srcdoc or about:blank frame
 * (issue 17, item 5); and, as in Chromium, a binding made in such a frame on one origin is never
 * restored on another, and such an editor's content is the same with Tandem as without (issue 23).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/backends';
import { waitFor } from '../helpers/wait';
import { FIREFOX, RestartableServer, e2eBackend, firefoxAvailable, launchFirefox, signedInFirefoxUser, startPageServer, storedText } from './harness';

const FRAMES = ['srcdoc', 'blank'] as const;

describe.skipIf(!firefoxAvailable())('frames and closed shadow roots in Firefox ESR', () => {
  let db: TestDatabase;
  let server: RestartableServer;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  const browsers: Browser[] = [];
  const profiles: string[] = [];

  beforeAll(async () => {
    db = await e2eBackend().create();
    server = await RestartableServer.start(db);
    pages = await startPageServer();
  });
  afterEach(async () => {
    for (const b of browsers.splice(0)) await b.close();
    for (const p of profiles.splice(0)) await rm(p, { recursive: true, force: true });
  });
  afterAll(async () => {
    await pages.close();
    await server.down();
    await db.drop();
  });

  const launch = (profile: string): Promise<Browser> => launchFirefox(browsers, profile);

  /** A new account, signed in from a fresh Firefox profile whose extension uses the test server. */
  async function user(): Promise<{ browser: Browser; token: string; profile: string }> {
    const profile = await mkdtemp(join(tmpdir(), 'tandem-firefox-'));
    profiles.push(profile);
    return { ...(await signedInFirefoxUser(server, browsers, { profile })), profile };
  }

  const frameOf = async (page: Page, id: string): Promise<Frame> => (await (await page.$(`#${id}`))!.contentFrame())!;

  /**
   * Clicks Tandem's Collaborate control in a frame's editor with the mouse, at its centre.
   * (Puppeteer's locator never finds it clickable in a script-filled about:blank frame, which has
   * no doctype: in quirks mode its root is only as tall as its text, and the control sits below.)
   */
  async function collaborateIn(page: Page, id: string): Promise<void> {
    const frame = await frameOf(page, id);
    const offset = await page.$eval(`#${id}`, (f) => {
      const r = f.getBoundingClientRect();
      return { x: r.left + f.clientLeft, y: r.top + f.clientTop };
    });
    // Clicked where it is now, until it is gone (the field is being bound): it follows the field's layout, which typing just changed.
    await waitFor(
      async () => {
        const at = await frame.evaluate(() => {
          const r = document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector('[data-tandem=collaborate]')?.getBoundingClientRect();
          return r && r.width > 0 ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null;
        });
        if (!at) return (await ui(frame)).badge !== null;
        await page.mouse.click(offset.x + at.x, offset.y + at.y);
        return false;
      },
      { what: `Tandem's control in the ${id} editor to be clicked` },
    );
  }

  /** Tandem's UI in a frame (or page): the badge's state and the notice, if any. */
  const ui = (scope: Page | Frame): Promise<{ badge: string | null; control: boolean; notice: string | null }> =>
    scope.evaluate(() => {
      const root = document.querySelector('[data-tandem-ui]')?.shadowRoot;
      return {
        badge: root?.querySelector('[data-tandem=badge]')?.getAttribute('data-state') ?? null,
        control: root?.querySelector('[data-tandem=collaborate]') != null,
        notice: root?.querySelector('[data-tandem=notice]')?.textContent ?? null,
      };
    });

  /** Waits for the badge to say "saved"; fails at once with the extension's notice if it shows a problem. */
  async function untilSaved(scope: Page | Frame, what: string): Promise<void> {
    await waitFor(
      async () => {
        const state = await ui(scope);
        if (state.notice && !state.notice.startsWith('Collaborating')) throw new Error(`the extension said: ${state.notice}`);
        return state.badge === 'saved';
      },
      { what, timeoutMs: 20_000 },
    );
  }

  const bodyHtml = (page: Page, id: string): Promise<string> => page.$eval(`#${id}`, (f) => (f as HTMLIFrameElement).contentDocument!.body.innerHTML);

  /** Focuses a frame's editor body (through the page: the frames are its own origin's) and puts the caret at its end with Ctrl+End. */
  async function caretAtEnd(page: Page, id: string): Promise<void> {
    await page.$eval(`#${id}`, (f) => (f as HTMLIFrameElement).contentDocument!.body.focus());
    await page.keyboard.down('Control');
    await page.keyboard.press('End');
    await page.keyboard.up('Control');
  }

  /** The documents this user has, with the share link asked from the server as them. */
  async function documents(token: string): Promise<{ id: string; title: string }[]> {
    const res = await fetch(`${server.httpUrl}/api/documents`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { documents: { id: string; title: string }[] }).documents;
  }
  async function editLink(token: string, docId: string): Promise<string> {
    const res = await fetch(`${server.httpUrl}/api/documents/${docId}/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access: 'edit' }),
    });
    return ((await res.json()) as { url: string }).url;
  }

  /** B opens the link and takes "Open where it was written". */
  async function openWhereWritten(browser: Browser, link: string, pageUrl: string): Promise<Page> {
    const landing = await browser.newPage();
    await landing.goto(link);
    const opened = browser.waitForTarget((t) => t.url() === pageUrl);
    await landing.locator('#tandem-open-origin').click();
    return (await (await opened).page())!;
  }

  it('binds a textarea in a closed shadow root and editors in srcdoc and about:blank frames; B joins them where they were written', async () => {
    const a = await user();
    const b = await user();
    const closed = `${pages.url}/closed.html`;
    const closedA = await a.browser.newPage();
    await closedA.goto(closed);
    await closedA.evaluate(() => (window as unknown as { sealed: HTMLTextAreaElement }).sealed.focus());
    await closedA.keyboard.type('sealed away', { delay: 10 });
    await closedA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(closedA, 'the closed-root field to be bound');

    const framed = `${pages.url}/framed-editors.html`;
    const framesA = await a.browser.newPage();
    await framesA.goto(framed);
    for (const id of FRAMES) {
      await caretAtEnd(framesA, id);
      await framesA.keyboard.type(` + ${id}`, { delay: 10 });
      const frame = await frameOf(framesA, id);
      await collaborateIn(framesA, id);
      await untilSaved(frame, `the ${id} frame's editor to be bound`);
    }
    const docs = await documents(a.token);
    expect(docs).toHaveLength(3);
    const texts = new Map(await Promise.all(docs.map(async (d) => [await storedText(server, d.id, a.token), d.id] as const)));
    expect([...texts.keys()].sort()).toEqual(['In a srcdoc frame + srcdoc', 'In an about:blank frame + blank', 'sealed away'].sort());

    // B opens the closed-root field's and the srcdoc editor's documents where they were written, and types into each.
    const closedB = await openWhereWritten(b.browser, await editLink(a.token, texts.get('sealed away')!), closed);
    const sealedValue = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { sealed: HTMLTextAreaElement }).sealed.value);
    await waitFor(async () => (await sealedValue(closedB)) === 'sealed away', { what: 'B in the closed shadow root', timeoutMs: 20_000 });
    await untilSaved(closedB, "B's closed-root field to be bound");
    await closedB.evaluate(() => {
      const field = (window as unknown as { sealed: HTMLTextAreaElement }).sealed;
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
    });
    await closedB.keyboard.type(' + B', { delay: 10 });
    await waitFor(async () => (await sealedValue(closedA)) === 'sealed away + B', { what: 'A in the closed shadow root' });

    const framesB = await openWhereWritten(b.browser, await editLink(a.token, texts.get('In a srcdoc frame + srcdoc')!), framed);
    await untilSaved(await frameOf(framesB, 'srcdoc'), "B's srcdoc editor to be bound");
    expect(await bodyHtml(framesB, 'srcdoc')).toBe(await bodyHtml(framesA, 'srcdoc'));
    await caretAtEnd(framesB, 'srcdoc');
    await framesB.keyboard.type(' + B', { delay: 10 });
    await waitFor(async () => (await bodyHtml(framesA, 'srcdoc')) === '<p>In a srcdoc frame + srcdoc + B</p>', { what: 'A to see B in the srcdoc editor' });
    // B's about:blank editor was not bound by the srcdoc one's document.
    expect(await bodyHtml(framesB, 'blank')).toBe('<p>In an about:blank frame</p>');
  });

  it('a binding made in srcdoc and about:blank frames on one origin is never restored on another, before and after a browser restart', async () => {
    const a = await user();
    const x = pages.url;
    const y = pages.otherOriginUrl;
    const pageX = await a.browser.newPage();
    await pageX.goto(`${x}/framed-editors.html`);
    const secret: Record<string, string> = {};
    for (const id of FRAMES) {
      await caretAtEnd(pageX, id);
      await pageX.keyboard.type(` SECRET FROM X ${id}`, { delay: 5 });
      const frame = await frameOf(pageX, id);
      await collaborateIn(pageX, id);
      await untilSaved(frame, `X's ${id} editor to be bound`);
      secret[id] = await bodyHtml(pageX, id);
    }
    await pageX.close();

    /** Y's page opens and its editors get focus (its frames connect first); then X's page opens and its bindings come back: Y's never did. */
    const check = async (browser: Browser): Promise<void> => {
      const pageY = await browser.newPage();
      await pageY.goto(`${y}/framed-editors.html`);
      const untouched = { srcdoc: await bodyHtml(pageY, 'srcdoc'), blank: await bodyHtml(pageY, 'blank') };
      expect(Object.values(untouched).join()).not.toContain('SECRET');
      for (const id of FRAMES) {
        await caretAtEnd(pageY, id);
        const frame = await frameOf(pageY, id);
        await waitFor(async () => (await ui(frame)).control, { what: `Tandem's control in Y's ${id} editor` });
      }
      const againX = await browser.newPage();
      await againX.goto(`${x}/framed-editors.html`);
      for (const id of FRAMES) {
        await untilSaved(await frameOf(againX, id), `X's ${id} binding to come back`);
        await waitFor(async () => (await bodyHtml(againX, id)) === secret[id], { what: `X's ${id} text to come back` });
      }
      for (const id of FRAMES) {
        expect(await bodyHtml(pageY, id)).toBe(untouched[id]);
        expect((await ui(await frameOf(pageY, id))).badge).toBeNull();
      }
      await pageY.close();
      await againX.close();
    };
    await check(a.browser);

    // A restart: the same profile (the sign-in cookie and the extension's storage stay).
    browsers.splice(browsers.indexOf(a.browser), 1);
    await a.browser.close();
    await check(await launch(a.profile));
  });

  it("an iframe-body editor's content, as its page would submit it, is byte-identical with and without the extension, bound and unbound", async () => {
    /** The same keys in each frame; `bind` between the two bursts when given. Returns the body HTML after each step. */
    const typeInFrames = async (page: Page, bind?: (id: string) => Promise<void>): Promise<string[]> => {
      const seen: string[] = [];
      for (const id of FRAMES) {
        await caretAtEnd(page, id);
        await page.keyboard.type(' one', { delay: 5 });
        seen.push(await bodyHtml(page, id));
        if (bind) {
          await bind(id);
          seen.push(await bodyHtml(page, id));
        }
        await caretAtEnd(page, id);
        await page.keyboard.type(' two', { delay: 5 });
        await page.keyboard.press('Enter');
        await page.keyboard.type('three', { delay: 5 });
        seen.push(await bodyHtml(page, id));
      }
      return seen;
    };

    const plain = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
    let expected: string[];
    try {
      const page = await plain.newPage();
      await page.goto(`${pages.url}/framed-editors.html`);
      expected = await typeInFrames(page);
    } finally {
      await plain.close();
    }

    const a = await user();
    const unbound = await a.browser.newPage();
    await unbound.goto(`${pages.url}/framed-editors.html`);
    expect(await typeInFrames(unbound)).toEqual(expected);

    const bound = await a.browser.newPage();
    await bound.goto(`${pages.url}/framed-editors.html`);
    const withBinding = await typeInFrames(bound, async (id) => {
      await collaborateIn(bound, id);
      await untilSaved(await frameOf(bound, id), 'the frame editor to be bound');
    });
    // Per frame: after " one", after binding (unchanged), after " two" + Enter + "three".
    expect(withBinding).toEqual([expected[0], expected[0], expected[1], expected[2], expected[2], expected[3]]);
  });

  it('a field in a cross-origin iframe is bound again when its page opens, and not when the frame is opened on its own', async () => {
    const a = await user();
    const page = await a.browser.newPage();
    await page.goto(`${pages.url}/cross-frame.html`);
    const cross = await frameOf(page, 'cross');
    await cross.locator('#framed').click();
    await cross.type('#framed', 'across origins');
    await cross.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(cross, 'the cross-origin frame field to be bound');
    await page.close();

    const alone = await a.browser.newPage();
    await alone.goto(`${pages.otherOriginUrl}/inner.html`);
    await alone.locator('#framed').click();
    await waitFor(async () => (await ui(alone)).control, { what: "Tandem's control on the frame's own page" });
    const again = await a.browser.newPage();
    await again.goto(`${pages.url}/cross-frame.html`);
    const crossAgain = await frameOf(again, 'cross');
    await untilSaved(crossAgain, 'the binding to come back in the cross-origin frame');
    expect(await crossAgain.$eval('#framed', (el) => (el as HTMLTextAreaElement).value)).toBe('across origins');
    expect(await alone.$eval('#framed', (el) => (el as HTMLTextAreaElement).value)).toBe('');
    expect((await ui(alone)).badge).toBeNull();
  });
});

/**
 * The extension in Firefox ESR (the MV2 build as a temporary add-on, driven over WebDriver BiDi):
 * two users, start, share, join where it was written, type at once, converge.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../helpers/backends';
import { waitFor } from '../helpers/wait';
import { editLinkToPage } from '../helpers/test-server';
import { RestartableServer, e2eBackend, firefoxAvailable, replaceNotesInPage, signedInFirefoxUser, startPageServer, storedText } from './harness';

describe.skipIf(!firefoxAvailable())('extension in Firefox ESR', () => {
  let db: TestDatabase;
  let server: RestartableServer;
  let pages: Awaited<ReturnType<typeof startPageServer>>;
  const browsers: Browser[] = [];

  beforeAll(async () => {
    db = await e2eBackend().create();
    server = await RestartableServer.start(db);
    pages = await startPageServer();
  });
  // Each test's browsers close after it: idle Firefoxes holding bound pages kept using the CPU
  // the later tests (and the other CI worker) need.
  afterEach(async () => {
    for (const b of browsers.splice(0)) await b.close();
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await pages.close();
    await server.down();
    await db.drop();
  });

  const user = () => signedInFirefoxUser(server, browsers);

  /** Waits for the field's badge to say "saved"; fails at once with the extension's notice if it shows a problem. */
  async function untilSaved(page: Page): Promise<void> {
    await waitFor(
      async () => {
        const state = await page.evaluate(() => {
          const root = document.querySelector('[data-tandem-ui]')?.shadowRoot;
          return { badge: root?.querySelector('[data-tandem=badge]')?.getAttribute('data-state') ?? null, notice: root?.querySelector('[data-tandem=notice]')?.textContent ?? null };
        });
        if (state.notice && !state.notice.startsWith('Collaborating')) throw new Error(`the extension said: ${state.notice}`);
        return state.badge === 'saved';
      },
      { what: 'the field to be bound and saved', timeoutMs: 20_000 },
    );
  }

  const value = (page: Page, selector: string): Promise<string> => page.$eval(selector, (el) => (el as HTMLTextAreaElement).value);

  /** An edit link to the document A started on `pageUrl` (A's own link went to the clipboard; the test asks the server, as A). */
  const editLink = (token: string, pageUrl: string): Promise<{ id: string; url: string }> => editLinkToPage(server, token, pageUrl);

  /** B opens the link and takes "Open where it was written". */
  async function openWhereWritten(browser: Browser, link: string, pageUrl: string): Promise<Page> {
    const landing = await browser.newPage();
    await landing.goto(link);
    const opened = browser.waitForTarget((t) => t.url() === pageUrl);
    await landing.locator('#tandem-open-origin').click();
    return (await (await opened).page())!;
  }

  /** `a` types `text` into fields.html's `#notes` and collaborates on it: the page and an edit link to the document. */
  async function bindNotes(a: { browser: Browser; token: string }, text: string): Promise<{ pageA: Page; link: { id: string; url: string }; url: string }> {
    const url = `${pages.url}/fields.html`;
    const pageA = await a.browser.newPage();
    await pageA.goto(url);
    await pageA.type('#notes', text);
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(pageA);
    return { pageA, link: await editLink(a.token, url), url };
  }

  /** The carets drawn over fields on this page (our shadow root): peer name and offset. */
  const drawnCarets = (page: Page): Promise<{ name: string; offset: number }[]> =>
    page.evaluate(() =>
      [...(document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelectorAll('[data-tandem=presence] .caret') ?? [])].map((el) => ({
        name: el.getAttribute('data-name') ?? '',
        offset: Number(el.getAttribute('data-offset')),
      })),
    );

  it("two users type at once: both fields and the stored document end identical; each sees the other's caret, gone when the tab closes", async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.newPage();
    await pageA.goto(`${pages.url}/fields.html`);
    await pageA.type('#notes', 'The middle. ');
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(pageA);

    // A's link went to the clipboard; the test asks the server for one, as A.
    const link = await editLink(a.token, `${pages.url}/fields.html`);

    const landing = await b.browser.newPage();
    await landing.goto(link.url);
    const opened = b.browser.waitForTarget((t) => t.url() === `${pages.url}/fields.html`);
    await landing.locator('#tandem-open-origin').click();
    const pageB = (await (await opened).page())!;
    await waitFor(async () => (await value(pageB, '#notes')) === 'The middle. ', { what: 'B to get the text', timeoutMs: 20_000 });
    await untilSaved(pageB);

    await pageA.focus('#notes');
    await pageA.keyboard.press('End');
    await pageB.focus('#notes');
    await pageB.keyboard.press('Home');
    // Emoji: Firefox types each as two UTF-16 units, and the field holds half of one in between.
    const typedA = 'A writes the end 😀.';
    const typedB = 'B writes the start 👍. ';
    await Promise.all([pageA.keyboard.type(typedA, { delay: 15 }), pageB.keyboard.type(typedB, { delay: 15 })]);
    const expected = `${typedB}The middle. ${typedA}`;
    await waitFor(async () => (await value(pageA, '#notes')) === expected && (await value(pageB, '#notes')) === expected, { what: 'both fields to converge', timeoutMs: 20_000 });
    await waitFor(async () => (await storedText(server, link.id, a.token)) === expected, {
      what: 'the stored document',
    });
    expect(await pageA.$eval('#notes', (el) => (el as HTMLTextAreaElement).selectionStart)).toBe(expected.length);

    // Presence: A's caret (at the end) is drawn in B's field with A's name, B's (after its text) in A's.
    const nameOf = async (token: string): Promise<string> =>
      ((await (await fetch(`${server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { displayName: string } }).user.displayName;
    const [nameA, nameB] = [await nameOf(a.token), await nameOf(b.token)];
    await waitFor(async () => (await drawnCarets(pageB)).some((c) => c.name === nameA && c.offset === expected.length), { what: "A's caret at B" });
    await waitFor(async () => (await drawnCarets(pageA)).some((c) => c.name === nameB && c.offset === typedB.length), { what: "B's caret at A" });
    // A closes the tab: A's caret leaves B's field at once.
    await pageA.close();
    await waitFor(async () => (await drawnCarets(pageB)).length === 0, { what: "A's caret to go at B" });
  });

  it('one Ctrl+Z takes back my whole burst while the other person types next to it and in the middle of the text, and none of theirs', async () => {
    const a = await user();
    const b = await user();
    const { pageA, link, url } = await bindNotes(a, 'Hello world.');
    const pageB = await openWhereWritten(b.browser, link.url, url);
    await waitFor(async () => (await value(pageB, '#notes')) === 'Hello world.', { what: 'B to get the text', timeoutMs: 20_000 });
    await untilSaved(pageB);

    for (const [where, at] of [
      ['next to it', 'Hello world.'.length],
      ['in the middle of the text', 'Hello '.length],
    ] as const) {
      const before = await value(pageA, '#notes');
      await pageB.focus('#notes');
      await pageB.$eval('#notes', (el, offset) => (el as HTMLTextAreaElement).setSelectionRange(offset, offset), at);
      const typedB = where === 'next to it' ? '0123456789' : 'abcdefghij';
      await pageA.focus('#notes');
      await pageA.$eval('#notes', (el) => (el as HTMLTextAreaElement).setSelectionRange((el as HTMLTextAreaElement).value.length, (el as HTMLTextAreaElement).value.length));
      const burst = ' Mine, all of it.';
      await Promise.all([
        pageB.keyboard.type(typedB, { delay: 100 }),
        (async () => {
          await waitFor(async () => (await value(pageA, '#notes')).includes(typedB.slice(0, 2)), { what: "B's typing to reach A", timeoutMs: 15_000 });
          await pageA.keyboard.type(burst, { delay: 20 });
          await waitFor(async () => (await value(pageA, '#notes')).includes(typedB.slice(0, 6)), { what: 'B to go on typing', timeoutMs: 15_000 });
          await pageA.keyboard.down('Control');
          await pageA.keyboard.press('z');
          await pageA.keyboard.up('Control');
        })(),
      ]);
      const expected = `${before.slice(0, at)}${typedB}${before.slice(at)}`;
      await waitFor(async () => (await value(pageA, '#notes')) === expected && (await value(pageB, '#notes')) === expected, {
        what: `one undo to take back A's burst (B typing ${where})`,
        timeoutMs: 20_000,
      }).catch(async (error: unknown) => {
        throw new Error(`A: ${JSON.stringify(await value(pageA, '#notes'))}, B: ${JSON.stringify(await value(pageB, '#notes'))}, expected ${JSON.stringify(expected)}`, { cause: error });
      });
    }
  }, 120_000);

  it('a form that reads its field on change keeps collaborators’ text through its next render', async () => {
    const { pageA, pageB } = await pair('Start.');
    const render = (): Promise<void> => pageB.evaluate(() => (window as unknown as { renderNotes(): void }).renderNotes());

    await pageA.focus('#notes');
    await pageA.keyboard.press('End');
    await pageA.keyboard.type(' More.');
    await waitFor(async () => (await value(pageB, '#notes')) === 'Start. More.', { what: 'B to get A’s typing' });
    // B is not in its field: the form's render puts its model back, which followed the change events.
    await render();
    expect(await value(pageB, '#notes')).toBe('Start. More.');
    // B in its field while A types: the change comes when B leaves it.
    await pageB.focus('#notes');
    await pageA.keyboard.type(' Again.');
    await waitFor(async () => (await value(pageB, '#notes')) === 'Start. More. Again.', { what: 'B to get more' });
    await pageB.focus('#subject');
    await render();
    expect(await value(pageB, '#notes')).toBe('Start. More. Again.');
    expect(await value(pageA, '#notes')).toBe('Start. More. Again.');
  });

  /** A and B both bound to A's `#notes` on fields.html, starting from `text`. */
  async function pair(text: string): Promise<{ pageA: Page; pageB: Page; link: { id: string; url: string }; a: { token: string } }> {
    const a = await user();
    const b = await user();
    const { pageA, link, url } = await bindNotes(a, text);
    const pageB = await openWhereWritten(b.browser, link.url, url);
    await waitFor(async () => (await value(pageB, '#notes')) === text, { what: 'B to get the text', timeoutMs: 20_000 });
    await untilSaved(pageB);
    return { pageA, pageB, link, a };
  }

  const replaceNotes = (page: Page, text: string): Promise<void> => page.evaluate(replaceNotesInPage, text);

  it('a page that removes the field and adds it again gets the binding back', async () => {
    const { pageA, pageB } = await pair('Kept text.');
    await replaceNotes(pageA, '');
    await waitFor(async () => (await value(pageA, '#notes')) === 'Kept text.', { what: 'the new field to get the document’s text' });
    await pageB.focus('#notes');
    await pageB.keyboard.press('End');
    await pageB.keyboard.type(' More.');
    await waitFor(async () => (await value(pageA, '#notes')) === 'Kept text. More.', { what: 'the new field to follow' });
  });

  it('a field replaced by one holding other text (another field, a draft) is left alone and the person told', async () => {
    const { pageA, pageB } = await pair('Shared text.');
    await replaceNotes(pageA, 'A draft of mine.');
    const ui = () =>
      pageA.evaluate(() => {
        const root = document.querySelector('[data-tandem-ui]')?.shadowRoot;
        return { notice: root?.querySelector('[data-tandem=notice]')?.textContent ?? '', badges: root?.querySelectorAll('[data-tandem=badge]').length ?? 0 };
      });
    await waitFor(async () => (await ui()).notice.includes('the page replaced it with one that holds other text'), { what: 'the notice' });
    await pageB.focus('#notes');
    await pageB.keyboard.press('End');
    await pageB.keyboard.type(' More.');
    await waitFor(async () => (await value(pageB, '#notes')) === 'Shared text. More.', { what: 'B to type' });
    expect(await value(pageA, '#notes')).toBe('A draft of mine.');
    expect((await ui()).badges).toBe(0);
  });

  /** True when Tandem's "Collaborate" control is shown on the page. */
  const controlShown = (page: Page): Promise<boolean> =>
    page.evaluate(() => {
      const control = document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector('[data-tandem=collaborate]');
      return control instanceof HTMLElement && control.checkVisibility();
    });

  it('a read-only field is not offered', async () => {
    const a = await user();
    const page = await a.browser.newPage();
    await page.goto(`${pages.url}/fields.html`);
    await page.click('#notes');
    await waitFor(() => controlShown(page), { what: 'the control on an editable field' });
    await page.click('#locked');
    await waitFor(async () => !(await controlShown(page)), { what: 'the control to go on a read-only field' });
    expect(await value(page, '#locked')).toBe('Locked text');
  });

  it('a one-line field that cannot hold the shared text stops, and neither text is cut', async () => {
    const a = await user();
    const b = await user();
    const { pageA, link, url } = await bindNotes(a, 'One line.');
    const notice = (page: Page): Promise<string> => page.evaluate(() => document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector('[data-tandem=notice]')?.textContent ?? '');
    /** B takes "bind to a field I choose" and picks the one-line `#subject`, holding text of its own. */
    const pick = async (pageUrl: string): Promise<Page> => {
      const landing = await b.browser.newPage();
      await landing.goto(link.url);
      await landing.locator('#tandem-pick-field').click();
      const page = await b.browser.newPage();
      await page.goto(pageUrl);
      await page.type('#subject', 'Mine.');
      await page.click('#subject');
      await page.locator('>>> [data-tandem=bind-offered]').click();
      return page;
    };
    const pageB = await pick(url);
    await waitFor(async () => (await value(pageB, '#subject')) === 'One line.', { what: "B's input to get the document" });
    // A starts a second line: B's input would drop the line break and send that back.
    await pageA.focus('#notes');
    await pageA.keyboard.press('End');
    await pageA.keyboard.type('\nSecond line.');
    await waitFor(async () => (await notice(pageB)).includes('this one-line field cannot hold the shared text'), { what: "B's notice" });
    await waitFor(async () => (await storedText(server, link.id, a.token)) === 'One line.\nSecond line.', { what: 'the document to keep both lines' });
    expect(await value(pageA, '#notes')).toBe('One line.\nSecond line.');

    // Bound now, the input would be given two lines: it keeps its own text instead.
    const again = await pick(`${url}?again`);
    await waitFor(async () => (await notice(again)).includes('this one-line field cannot hold the shared text'), { what: 'the notice on the second input' });
    expect(await value(again, '#subject')).toBe('Mine.');
    expect(await storedText(server, link.id, a.token)).toBe('One line.\nSecond line.');
  });

  it('a field inside a shared one is refused with the reason and left alone', async () => {
    const a = await user();
    const page = await a.browser.newPage();
    await page.goto(`${pages.url}/nested.html`);
    await page.click('#outer');
    await page.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(page);
    await page.click('#inner');
    await page.locator('>>> [data-tandem=collaborate]').click();
    const ui = () =>
      page.evaluate(() => {
        const root = document.querySelector('[data-tandem-ui]')?.shadowRoot;
        return { notices: [...(root?.querySelectorAll('[data-tandem=notice]') ?? [])].map((n) => n.textContent ?? ''), badges: root?.querySelectorAll('[data-tandem=badge]').length ?? 0 };
      });
    await waitFor(async () => (await ui()).notices.some((n) => n.includes('Tandem cannot collaborate here: it is inside a field that is already shared')), {
      what: 'the refusal',
    });
    expect((await ui()).badges).toBe(1);
    expect(await value(page, '#inner')).toBe('Inner text');
  });

  it('rich text: bold made in one contenteditable appears in place in the other; typing and undo go both ways', async () => {
    const a = await user();
    const b = await user();
    const url = `${pages.url}/rich.html`;
    const pageA = await a.browser.newPage();
    await pageA.goto(url);
    await pageA.click('#rich');
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(pageA);
    const link = await editLink(a.token, url);
    const pageB = await openWhereWritten(b.browser, link.url, url);
    await untilSaved(pageB);
    const html = (page: Page, selector: string): Promise<string> => page.$eval(selector, (el) => el.innerHTML);
    const text = (page: Page, selector: string): Promise<string> => page.$eval(selector, (el) => (el as HTMLElement).innerText.replace(/\u00a0/g, ' '));

    // A selects "world" and makes it bold with Firefox's own command, as a page's toolbar does
    // (Ctrl+B sent over BiDi did not bold anything in headless Firefox ESR here; Ctrl+Z below does reach our listener).
    await pageA.$eval('#first', (p) => {
      (p.parentElement as HTMLElement).focus();
      const t = p.firstChild as Text;
      document.getSelection()!.setBaseAndExtent(t, 6, t, 11);
      document.execCommand('bold');
    });
    await waitFor(async () => (await html(pageB, '#first')) === 'Hello <strong>world</strong>', { what: 'B to show the bold word', timeoutMs: 15_000 });
    expect(await pageB.evaluate(() => document.getElementById('keep') === (window as unknown as { pageKeep: Element }).pageKeep)).toBe(true);

    // B types after "paragraph"; A sees it; B undoes it; both are back.
    await pageB.$eval('#keep', (span) => {
      (span.closest('[contenteditable]') as HTMLElement).focus();
      document.getSelection()!.collapse(span.firstChild!, (span.firstChild as Text).length);
    });
    await pageB.keyboard.type(' from B 😀', { delay: 15 }); // an emoji: two UTF-16 units typed one by one
    await waitFor(async () => (await text(pageA, '#second')) === 'Second paragraph from B 😀', { what: 'A to see B’s typing', timeoutMs: 15_000 });
    await pageB.keyboard.down('Control');
    await pageB.keyboard.press('z');
    await pageB.keyboard.up('Control');
    await waitFor(async () => (await text(pageA, '#second')) === 'Second paragraph' && (await text(pageB, '#second')) === 'Second paragraph', { what: 'B’s undo on both', timeoutMs: 15_000 });
    expect(await html(pageA, '#first')).toBe('Hello <b>world</b>');
  });
  it("after binding, a click at a field's first line puts the caret there: Tandem's notice and badge are outside the field and take no click from it", async () => {
    const { browser } = await user();
    /** Grid points of the field's box that are not the field, and the middle of its first character. */
    const probe = (page: Page, selector: string) =>
      page.$eval(selector, (field) => {
        const box = field.getBoundingClientRect();
        const foreign: string[] = [];
        for (let i = 0; i <= 8; i++) {
          for (let j = 0; j <= 4; j++) {
            const x = box.left + 2 + ((box.width - 4) * i) / 8;
            const y = box.top + 2 + ((box.height - 4) * j) / 4;
            const el = document.elementFromPoint(x, y);
            if (!el || (el !== field && !field.contains(el))) foreign.push(`${Math.round(x)},${Math.round(y)}: ${el?.outerHTML.slice(0, 40) ?? 'nothing'}`);
          }
        }
        if (field instanceof HTMLTextAreaElement) {
          const cs = getComputedStyle(field);
          const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.2;
          return { foreign, first: { x: box.left + field.clientLeft + parseFloat(cs.paddingLeft) + 1, y: box.top + field.clientTop + parseFloat(cs.paddingTop) + line / 2 } };
        }
        const range = document.createRange();
        const text = document.createTreeWalker(field, NodeFilter.SHOW_TEXT).nextNode()!;
        range.setStart(text, 0);
        range.setEnd(text, 1);
        const r = range.getBoundingClientRect();
        return { foreign, first: { x: r.left + 1, y: r.top + r.height / 2 } };
      });
    const textOf = (page: Page, selector: string): Promise<string> => page.$eval(selector, (el) => (el instanceof HTMLTextAreaElement ? el.value : (el as HTMLElement).innerText));
    /** Caret at the end, a click on the first character, a key: the text then. */
    const clickFirstAndType = async (page: Page, selector: string) => {
      await page.focus(selector);
      await page.keyboard.down('Control');
      await page.keyboard.press('End');
      await page.keyboard.up('Control');
      const { foreign, first } = await probe(page, selector);
      await page.mouse.click(first.x, first.y);
      await page.keyboard.type('X');
      return { foreign, text: await textOf(page, selector) };
    };
    const ours = (page: Page, what: string) =>
      page.evaluate((what) => {
        const el = document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector(`[data-tandem=${what}]`);
        const r = el?.getBoundingClientRect();
        return r ? { top: r.top, bottom: r.bottom, width: r.width } : null;
      }, what);
    for (const [path, selector, fill] of [
      ['fields.html', '#notes', 'First line of the notes\nSecond line'],
      ['rich.html', '#rich', null],
    ] as const) {
      const plain = await browser.newPage();
      await plain.goto(`${pages.url}/${path}`);
      if (fill) await plain.$eval(selector, (el, v) => ((el as HTMLTextAreaElement).value = v), fill);
      const unbound = await clickFirstAndType(plain, selector);
      expect(unbound.text.startsWith('X')).toBe(true);
      await plain.close();

      const page = await browser.newPage();
      await page.goto(`${pages.url}/${path}`);
      if (fill) await page.$eval(selector, (el, v) => ((el as HTMLTextAreaElement).value = v), fill);
      await page.click(selector);
      await page.locator('>>> [data-tandem=collaborate]').click();
      // At once: the notice shows for a few seconds after binding.
      await waitFor(() => ours(page, 'notice'), { what: 'the notice' });
      const bound = await clickFirstAndType(page, selector);
      expect(bound.text, path).toBe(unbound.text);
      expect(bound.foreign, `${path}: points of the field that are not the field`).toEqual([]);
      const field = await page.$eval(selector, (el) => ({ top: el.getBoundingClientRect().top, bottom: el.getBoundingClientRect().bottom }));
      for (const what of ['notice', 'badge']) {
        const box = (await ours(page, what))!;
        expect(box.width).toBeGreaterThan(0);
        expect(box.bottom <= field.top + 0.5 || box.top >= field.bottom - 0.5, `${path}: the ${what} beside the field`).toBe(true);
      }
      await page.locator('>>> [data-tandem=dismiss]').click();
      await waitFor(async () => (await ours(page, 'notice')) === null, { what: 'the notice to go' });
      await untilSaved(page);
      await page.close();
    }
  });
  it("a contenteditable: A sees B's caret and B sees A's, on the line it is on: a line's end, an empty line, a line's start", async () => {
    const a = await user();
    const b = await user();
    const url = `${pages.url}/rich.html`;
    const pageA = await a.browser.newPage();
    await pageA.goto(url);
    await pageA.click('#rich');
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(pageA);
    const link = await editLink(a.token, url);
    const pageB = await openWhereWritten(b.browser, link.url, url);
    await untilSaved(pageB);
    const nameOf = async (token: string): Promise<string> =>
      ((await (await fetch(`${server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { displayName: string } }).user.displayName;
    /** The paragraphs' text (a placeholder <br> left at a line's end is no difference). */
    const lines = (page: Page): Promise<string> => page.$eval('#rich', (el) => JSON.stringify([...el.children].map((p) => p.textContent)));
    /** Where the paragraph holding the mover's caret is (both pages lay the field out alike). */
    const caretLine = (page: Page) =>
      page.evaluate(() => {
        let n: Node | null = document.getSelection()!.focusNode;
        while (n && !(n instanceof HTMLParagraphElement)) n = n.parentNode;
        const r = (n as HTMLElement).getBoundingClientRect();
        return { top: r.top, bottom: r.bottom };
      });
    /** A's or B's caret as drawn in the other's field: its box. */
    const drawn = (page: Page, name: string, offset: number) =>
      page.evaluate(
        (name, offset) => {
          const el = document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector(`[data-tandem=presence] .caret[data-name="${name}"][data-offset="${offset}"]`);
          const r = el?.getBoundingClientRect();
          return r ? { top: r.top, bottom: r.bottom, left: r.left } : null;
        },
        name,
        offset,
      );
    const first = 'Hello world'.length;
    for (const [mover, watcher, name, who] of [
      [pageA, pageB, await nameOf(a.token), 'A at B'],
      [pageB, pageA, await nameOf(b.token), 'B at A'],
    ] as const) {
      await mover.click('#first');
      await mover.keyboard.down('Control');
      await mover.keyboard.press('Home');
      await mover.keyboard.up('Control');
      for (const [where, key, offset] of [
        ["the first line's end", 'End', first],
        ['an empty line', 'Enter', first + 1],
        ["the first line's end again", 'Backspace', first],
        ["the first line's start", 'Home', 0],
      ] as const) {
        await mover.keyboard.press(key);
        await waitFor(async () => (await lines(watcher)) === (await lines(mover)), { what: `${who}: the same lines (${where})` });
        const box = await waitFor(() => drawn(watcher, name, offset), { what: `${who}: the caret drawn (${where})` });
        const line = await caretLine(mover);
        const middle = (box.top + box.bottom) / 2;
        expect(middle > line.top && middle < line.bottom, `${who}, ${where}: ${JSON.stringify(box)} on ${JSON.stringify(line)}`).toBe(true);
      }
    }
  });

  it('a strict-CSP page logs nothing from Tandem: binding, typing, undo, a collaborator joining, carets both ways, a reload that binds again', async () => {
    // Everything either browser logs (WebDriver BiDi log.entryAdded: console calls and errors,
    // CSP violations included, of every page and frame, content scripts' too).
    const logged: { who: string; text: string; level: string; urls: string[] }[] = [];
    const listen = (browser: Browser, who: string): void => {
      (browser as unknown as { connection: { on(event: string, listener: (entry: unknown) => void): void } }).connection.on('log.entryAdded', (raw) => {
        const entry = raw as { level: string; text: string | null; stackTrace?: { callFrames: { url: string }[] } };
        logged.push({ who, level: entry.level, text: entry.text ?? '', urls: entry.stackTrace?.callFrames.map((f) => f.url) ?? [] });
      });
    };
    const a = await user();
    const b = await user();
    listen(a.browser, 'A');
    listen(b.browser, 'B');
    const url = `${pages.url}/strict.html`;
    const pageA = await a.browser.newPage();
    await pageA.goto(url);
    await pageA.click('#strict');
    await pageA.keyboard.type('Strict page. ');
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    await untilSaved(pageA);
    await pageA.keyboard.type('Bound now.', { delay: 10 });
    await pageA.keyboard.down('Control');
    await pageA.keyboard.press('z');
    await pageA.keyboard.up('Control');
    await waitFor(async () => (await value(pageA, '#strict')) === 'Strict page. ', { what: 'the undo at A' });
    const link = await editLink(a.token, url);
    const pageB = await openWhereWritten(b.browser, link.url, url);
    await untilSaved(pageB);
    await pageB.click('#strict');
    await pageB.keyboard.press('End');
    await pageB.keyboard.type('B was here.', { delay: 10 });
    await waitFor(async () => (await value(pageA, '#strict')) === 'Strict page. B was here.', { what: "B's typing at A" });
    await waitFor(async () => (await drawnCarets(pageA)).length > 0 && (await drawnCarets(pageB)).length > 0, { what: 'carets both ways' });
    await pageA.reload();
    await waitFor(async () => (await value(pageA, '#strict')) === 'Strict page. B was here.', { what: 'the field bound again after a reload' });
    await untilSaved(pageA);

    // The capture works: the browser's own favicon request, refused by the page's CSP, is there.
    expect(logged.some((e) => e.text.includes('favicon.ico'))).toBe(true);
    const ours = logged.filter(
      (e) => e.urls.some((u) => u.startsWith('moz-extension://')) || /moz-extension:|\[tandem\]/i.test(e.text) || (e.text.includes('Content-Security-Policy') && !e.text.includes('favicon.ico')),
    );
    expect(ours).toEqual([]);
  });
});

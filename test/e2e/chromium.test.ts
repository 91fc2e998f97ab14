/**
 * The extension in Chromium, two users (two profiles): start, share, join where it was written,
 * type at once; offline with a browser restart; a trace replayed as keystrokes; a strict-CSP
 * page and a field in an iframe.
 */
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEXT_CONTAINER } from '../../shared/document';
import { storedDoc } from '../helpers/stored';
import { loadSequentialTrace, textAfter } from '../helpers/traces';
import { waitFor } from '../helpers/wait';
import { CHROMIUM, ChromiumUser, chromiumSuite, chromiumAvailable, collaborate, docIdOf, openWhereWritten, storedText } from './harness';

describe.skipIf(!chromiumAvailable())('extension in Chromium', () => {
  const env = chromiumSuite();
  const { user } = env;

  const value = (page: Page, selector: string): Promise<string> => page.locator(selector).inputValue();

  it('two users type at once in a textarea: both fields and the stored document end identical, carets stay put', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'The middle. ');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    expect(link).toMatch(new RegExp(`^${env.server.httpUrl}/d/[\\w-]+#sh_`));

    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#notes')) === 'The middle. ', { what: 'B to get the text' });
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    // A types at the end while B types at the start, at the same time.
    await pageA.locator('#notes').press('End');
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('Home');
    const typedA = 'A writes the end.';
    const typedB = 'B writes the start. ';
    await Promise.all([pageA.keyboard.type(typedA, { delay: 15 }), pageB.keyboard.type(typedB, { delay: 15 })]);

    const expected = `${typedB}The middle. ${typedA}`;
    await waitFor(async () => (await value(pageA, '#notes')) === expected && (await value(pageB, '#notes')) === expected, { what: 'both fields to converge', timeoutMs: 20_000 });
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === expected, { what: 'the stored document' });
    // Carets: A's stayed after its own text although B inserted before it; B's after B's text.
    expect(await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(expected.length);
    expect(await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(typedB.length);
  });

  it('one Ctrl+Z takes back my whole burst while the other person types next to it and in the middle of the text, and none of theirs', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Hello world.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#notes')) === 'Hello world.', { what: 'B to get the text' });
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    for (const [where, at] of [
      ['next to it', 'Hello world.'.length],
      ['in the middle of the text', 'Hello '.length],
    ] as const) {
      const before = await value(pageA, '#notes');
      // B types at ten characters a second all the while: A's burst, a pause, A's undo.
      await pageB.locator('#notes').click();
      await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement, offset) => el.setSelectionRange(offset, offset), at);
      const typedB = where === 'next to it' ? '0123456789' : 'abcdefghij';
      await pageA.locator('#notes').click();
      await pageA.locator('#notes').press('Control+End');
      const burst = ' Mine, all of it.';
      await Promise.all([
        pageB.keyboard.type(typedB, { delay: 100 }),
        (async () => {
          await waitFor(async () => (await value(pageA, '#notes')).includes(typedB.slice(0, 2)), { what: "B's typing to reach A" });
          await pageA.keyboard.type(burst, { delay: 20 });
          await waitFor(async () => (await value(pageA, '#notes')).includes(typedB.slice(0, 6)), { what: 'B to go on typing' });
          await pageA.keyboard.press('Control+z');
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

  it('a text input and a React-controlled textarea stay in step, and React state follows remote edits', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await collaborate(pageA, '#subject');
    await collaborate(pageA, '#react-notes');
    const links = await a.browser.popupLinks();
    expect(links).toHaveLength(2);
    const pagesB = [await openWhereWritten(b.browser, links[0]!), await openWhereWritten(b.browser, links[1]!)];
    await Promise.all(pagesB.map((p) => p.locator('[data-tandem=badge][data-state=saved]').first().waitFor()));
    const pageB = pagesB;

    await pageA.locator('#subject').click();
    await pageA.keyboard.type('Subject from A', { delay: 10 });
    await pageA.locator('#react-notes').click();
    await pageA.keyboard.type('React text from A', { delay: 10 });
    await waitFor(
      async () => {
        const subjects = await Promise.all(pageB.map((p) => value(p, '#subject')));
        const notes = await Promise.all(pageB.map((p) => value(p, '#react-notes')));
        return subjects.includes('Subject from A') && notes.includes('React text from A');
      },
      { what: 'B to see both fields', timeoutMs: 20_000 },
    );
    // B answers in the React field; A's React state (not just the DOM) has it.
    const reactPageB = (await value(pageB[0]!, '#react-notes')) === 'React text from A' ? pageB[0]! : pageB[1]!;
    await reactPageB.locator('#react-notes').click();
    await reactPageB.locator('#react-notes').press('End');
    await reactPageB.keyboard.type(' and B', { delay: 10 });
    await waitFor(async () => (await value(pageA, '#react-notes')) === 'React text from A and B', { what: 'A to see B in the React field' });
    expect(await reactPageB.locator('#react-length').textContent()).toBe(String('React text from A and B'.length));
    await waitFor(async () => (await pageA.locator('#react-length').textContent()) === String('React text from A and B'.length), { what: "A's React state" });
  });

  it('offline: A keeps typing with the server down, restarts the browser, comes back: nothing lost, B sees it', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Before the outage.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#notes')) === 'Before the outage.', { what: 'B to join' });

    await env.server.down();
    await pageA.locator('#notes').click();
    await pageA.locator('#notes').press('End');
    await pageA.keyboard.type(' Written offline.', { delay: 10 });
    // The badge says the edits are kept on this device before the browser goes away.
    await pageA.locator('[data-tandem=badge][data-state=offline]', { hasText: 'kept on this device' }).waitFor({ timeout: 20_000 });

    const profile = a.browser.profileDir;
    env.users.splice(env.users.indexOf(a.browser), 1);
    await a.browser.close(false);
    await env.server.up();
    const again = await ChromiumUser.launch(profile);
    env.users.push(again);
    const pageA2 = await again.page(`${env.pages.url}/fields.html`);
    const expected = 'Before the outage. Written offline.';
    await waitFor(async () => (await value(pageA2, '#notes')) === expected, { what: 'A’s field to come back with the offline text', timeoutMs: 30_000 });
    await waitFor(async () => (await value(pageB, '#notes')) === expected, { what: 'B to see the offline edits', timeoutMs: 30_000 });
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === expected, { what: 'the stored document' });
  });

  it('replays the first 50,000 edits of seph-blog1 as keystrokes into A’s textarea: B’s field ends at the same text', async () => {
    const trace = loadSequentialTrace('seph-blog1');
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    // Each patch edits the field the way a page script or an editor does (setRangeText, then an
    // `input` event), one event per patch: the binding sees 138k separate edits. (Real editing
    // commands, execCommand('insertText'), cost 5–7 ms each in a 54 KB textarea in headless
    // Chromium with or without the extension, which would make this test take 4.5 minutes.)
    // No astral characters in this trace: its code-point positions are UTF-16 positions.
    // A third of the trace: the whole of it took 5 of the suite's 14 minutes, and what it
    // adds (a longer document) is measured by `npm run bench -- --only extension` (100 KB field).
    const patches = trace.txns.flatMap((t) => t.patches).slice(0, 50_000);
    const endText = textAfter(patches);
    await pageA.locator('#notes').focus();
    for (let i = 0; i < patches.length; i += 5_000) {
      await pageA.locator('#notes').evaluate(
        (el: HTMLTextAreaElement, chunk) => {
          for (const [pos, del, ins] of chunk) {
            el.setRangeText(ins, pos, pos + del, 'end');
            el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: ins.length > 0 ? 'insertText' : 'deleteContentBackward', data: ins || null }));
          }
        },
        patches.slice(i, i + 5_000),
      );
    }
    expect(await value(pageA, '#notes')).toBe(endText);
    await waitFor(async () => (await value(pageB, '#notes')) === endText, { what: 'B to reach the replayed text', timeoutMs: 180_000 });
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === endText, { what: 'the stored document', timeoutMs: 60_000 });
  }, 600_000); // ~1.2 min alone, ~2 min in the full suite (browsers and servers share 2 cores with it)

  it('the server’s document page edits without the extension, formats (toolbar, Ctrl+B), undoes its own typing, and is read-only for viewers', async () => {
    const a = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'From the extension.');
    await collaborate(pageA, '#notes');
    const [ownLink] = await a.browser.popupLinks();
    const docId = docIdOf(ownLink!);
    const link = async (access: 'edit' | 'view'): Promise<string> => {
      const res = await fetch(`${env.server.httpUrl}/api/documents/${docId}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ access }),
      });
      return ((await res.json()) as { url: string }).url;
    };
    const editorText = (page: Page): Promise<string> => page.locator('#tandem-editor').evaluate((el: HTMLElement) => el.innerText.replace(/\u00a0/g, ' '));
    const plain = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const editor = await (await plain.newContext()).newPage();
      await editor.goto(await link('edit'));
      await waitFor(async () => (await editorText(editor)) === 'From the extension.', { what: 'the page editor to load the text' });
      await editor.locator('#tandem-editor[contenteditable=true]').click();
      await editor.keyboard.press('End');
      await editor.keyboard.type(' From the page.', { delay: 10 });
      await waitFor(async () => (await value(pageA, '#notes')) === 'From the extension. From the page.', { what: 'the extension user to see the page edit' });
      await editor.locator('#tandem-editor-status[data-state=saved]').waitFor();

      // Formatting: Ctrl+B on a selection, the toolbar's code button on another; the textarea sees no marks.
      const selectText = (text: string) =>
        editor.locator('#tandem-editor').evaluate((root, text) => {
          const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const at = (n as Text).data.indexOf(text);
            if (at >= 0) return void document.getSelection()!.setBaseAndExtent(n, at, n, at + text.length);
          }
        }, text);
      await selectText('extension');
      await editor.keyboard.press('Control+b');
      await selectText('page');
      await editor.locator('#tandem-toolbar button[data-format=code]').click();
      const stored = async () => JSON.stringify((await storedDoc(env.db.handle.db, docId)).getText(TEXT_CONTAINER).toDelta());
      await waitFor(
        async () =>
          (await stored()) ===
          JSON.stringify([{ insert: 'From the ' }, { insert: 'extension', attributes: { bold: true } }, { insert: '. From the ' }, { insert: 'page', attributes: { code: true } }, { insert: '.' }]),
        { what: 'the formatting to be stored' },
      );
      expect(await value(pageA, '#notes')).toBe('From the extension. From the page.');

      // Undo in the page: the extension user's concurrent typing stays.
      await editor.keyboard.press('End');
      await editor.keyboard.type(' Oops.', { delay: 10 });
      await waitFor(async () => (await value(pageA, '#notes')).endsWith('Oops.'), { what: 'the typing to reach the extension user' });
      await pageA.locator('#notes').click();
      await pageA.locator('#notes').press('Home');
      await pageA.keyboard.type('A: ');
      await editor.keyboard.press('Control+z');
      await waitFor(async () => (await value(pageA, '#notes')) === 'A: From the extension. From the page.' && (await editorText(editor)) === 'A: From the extension. From the page.', {
        what: 'the page’s undo to remove only its typing',
      });

      const viewer = await (await plain.newContext()).newPage();
      await viewer.goto(await link('view'));
      await waitFor(async () => (await editorText(viewer)) === 'A: From the extension. From the page.', { what: 'the viewer to load the text' });
      expect(await viewer.locator('#tandem-editor').getAttribute('contenteditable')).toBe('false');
      expect(await viewer.locator('#tandem-toolbar').isHidden()).toBe(true);
      expect(await viewer.locator('#tandem-editor-status').textContent()).toContain('view only');
      expect(await viewer.locator('#tandem-editor').innerHTML()).toBe('A: From the <strong>extension</strong>. From the <code>page</code>.');
      await pageA.locator('#notes').press('End');
      await pageA.keyboard.type('!');
      await waitFor(async () => (await editorText(viewer)).endsWith('page.!'), { what: 'the viewer to follow' });
    } finally {
      await plain.close();
    }
  });

  it('history: a version picked in the panel shows its author’s colour; restoring it changes the other person’s bound field', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Version one.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#notes')) === 'Version one.', { what: 'B to get the text' });
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    // A names this state in the history panel of the document's page (signed in: A's cookie).
    const history = await a.browser.page(`${env.server.httpUrl}/d/${docIdOf(link!)}?history`);
    await history.waitForSelector('#tandem-history:not([hidden]) li', { timeout: 30_000 });
    await history.fill('#tandem-history-name', 'First draft');
    await history.click('#tandem-history-name-button');
    await history.waitForFunction(() => document.querySelector('#tandem-history')?.textContent?.includes('First draft'), undefined, { timeout: 30_000 });

    // B writes on in the bound field; everyone sees it.
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('Control+End');
    await pageB.keyboard.type(' B adds this.', { delay: 10 });
    await waitFor(async () => (await value(pageA, '#notes')) === 'Version one. B adds this.', { what: "A to see B's typing" });
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    // A opens the named version: its text, in A's colour; then restores it.
    await history.click('#tandem-history-refresh');
    const named = history.locator('#tandem-history li', { hasText: 'First draft' });
    await named.locator('button.open').click();
    const span = history.locator('#tandem-history-view span[data-author]');
    await span.first().waitFor({ timeout: 30_000 });
    expect(await history.locator('#tandem-history-view').innerText()).toBe('Version one.');
    expect(await span.first().evaluate((e) => getComputedStyle(e).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
    await named.locator('button.restore').click();

    // B's bound field (and A's) show the restored text, and the server stores it.
    await waitFor(async () => (await value(pageB, '#notes')) === 'Version one.' && (await value(pageA, '#notes')) === 'Version one.', {
      what: 'the restore to reach both bound fields',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === 'Version one.', { what: 'the stored document' });
  }, 120_000);

  it('“bind to a field I choose”: the shared document goes into any field on any page', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Chosen.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const landing = await b.browser.page(link!);
    await landing.locator('#tandem-pick-field').click();
    const elsewhere = await b.browser.page(`${env.pages.url}/strict.html`);
    await elsewhere.locator('#strict').click();
    await elsewhere.locator('[data-tandem=bind-offered]').click();
    await waitFor(async () => (await value(elsewhere, '#strict')) === 'Chosen.', { what: 'the chosen field to get the document' });
    await elsewhere.locator('#strict').press('End');
    await elsewhere.keyboard.type(' Yes.');
    await waitFor(async () => (await value(pageA, '#notes')) === 'Chosen. Yes.', { what: 'A to see the chosen field’s edit' });
  });

  it('a one-line field that cannot hold the shared text stops, and neither text is cut', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'One line.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pick = async (url: string): Promise<Page> => {
      const landing = await b.browser.page(link!);
      await landing.locator('#tandem-pick-field').click();
      const page = await b.browser.page(url);
      await page.fill('#subject', 'Mine.');
      await page.locator('#subject').click();
      await page.locator('[data-tandem=bind-offered]').click();
      return page;
    };
    const pageB = await pick(`${env.pages.url}/fields.html`);
    await waitFor(async () => (await value(pageB, '#subject')) === 'One line.', { what: "B's input to get the document" });
    // A starts a second line: B's input would drop the line break and send that back.
    await pageA.locator('#notes').press('End');
    await pageA.keyboard.type('\nSecond line.');
    await pageB.locator('[data-tandem=notice]', { hasText: 'this one-line field cannot hold the shared text' }).waitFor();
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === 'One line.\nSecond line.', { what: 'the document to keep both lines' });
    expect(await value(pageA, '#notes')).toBe('One line.\nSecond line.');

    // Bound now, the input would be given two lines: it keeps its own text instead.
    const again = await pick(`${env.pages.url}/fields.html?again`);
    await again.locator('[data-tandem=notice]', { hasText: 'this one-line field cannot hold the shared text' }).waitFor();
    expect(await value(again, '#subject')).toBe('Mine.');
    expect(await storedText(env.server, docIdOf(link!), a.token)).toBe('One line.\nSecond line.');
  });

  it('holds remote edits during IME composition and applies them after it ends', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'ab');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#notes')) === 'ab', { what: 'B to join' });

    await pageA.locator('#notes').click();
    await pageA.locator('#notes').press('End');
    const ime = await a.browser.context.newCDPSession(pageA);
    await ime.send('Input.imeSetComposition', { text: 'にほ', selectionStart: 2, selectionEnd: 2 });
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('Home');
    await pageB.keyboard.type('B:');
    // B's edit is stored (and relayed); A's field keeps the composition untouched meanwhile.
    await waitFor(async () => (await storedText(env.server, docIdOf(link!), a.token)) === 'B:ab', { what: 'B’s edit to be stored' });
    expect(await value(pageA, '#notes')).toBe('abにほ');
    await ime.send('Input.insertText', { text: 'にほん' }); // commits the composition
    await waitFor(async () => (await value(pageA, '#notes')) === 'B:abにほん' && (await value(pageB, '#notes')) === 'B:abにほん', { what: 'both to converge after the composition' });
  });

  it('binds a field inside an open shadow root, and stops from the popup', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/shadow.html`);
    await pageA.locator('#shadowed').fill('in a shadow root'); // Playwright locators pierce open shadow roots
    await collaborate(pageA, '#shadowed');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await value(pageB, '#shadowed')) === 'in a shadow root', { what: 'B in the shadow root' });
    await pageB.locator('#shadowed').click();
    await pageB.locator('#shadowed').press('End');
    await pageB.keyboard.type(' + B', { delay: 10 });
    await waitFor(async () => (await value(pageA, '#shadowed')) === 'in a shadow root + B', { what: 'A in the shadow root' });

    const popup = await a.browser.page(`chrome-extension://${a.browser.extensionId}/popup.html`);
    await popup.locator('button', { hasText: 'Stop collaborating' }).click();
    await pageA.locator('[data-tandem=notice]', { hasText: 'Stopped collaborating' }).waitFor();
    await waitFor(async () => (await pageA.locator('[data-tandem=badge]').count()) === 0, { what: 'the badge to go' });
    expect(await value(pageA, '#shadowed')).toBe('in a shadow root + B');
  });

  it('binds a field inside a closed shadow root, and editors in srcdoc and about:blank iframes', async () => {
    const a = await user();
    const b = await user();
    // Closed shadow root: the page's handle focuses it; our control appears over it.
    const closedA = await a.browser.page(`${env.pages.url}/closed.html`);
    await closedA.evaluate(() => (window as unknown as { sealed: HTMLTextAreaElement }).sealed.focus());
    await closedA.keyboard.type('sealed away', { delay: 10 });
    await closedA.locator('[data-tandem=collaborate]').click();
    await closedA.locator('[data-tandem=badge][data-state=saved]').waitFor();
    const [sealedLink] = await a.browser.popupLinks();
    await waitFor(async () => (await storedText(env.server, docIdOf(sealedLink!), a.token)) === 'sealed away', { what: 'the closed-root field stored' });
    const closedB = await openWhereWritten(b.browser, sealedLink!);
    const sealedValue = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { sealed: HTMLTextAreaElement }).sealed.value);
    await waitFor(async () => (await sealedValue(closedB)) === 'sealed away', { what: 'B in the closed shadow root' });
    await closedB.evaluate(() => {
      const field = (window as unknown as { sealed: HTMLTextAreaElement }).sealed;
      field.focus();
      field.setSelectionRange(field.value.length, field.value.length);
    });
    await closedB.keyboard.type(' + B', { delay: 10 });
    await waitFor(async () => (await sealedValue(closedA)) === 'sealed away + B', { what: 'A in the closed shadow root' });

    // TinyMCE/CKEditor style: the iframe's body is the editor.
    const framesA = await a.browser.page(`${env.pages.url}/framed-editors.html`);
    for (const frame of ['#srcdoc', '#blank']) {
      const body = framesA.frameLocator(frame).locator('body');
      await body.click();
      await body.press('End');
      await framesA.keyboard.type(` + ${frame}`, { delay: 10 });
      await framesA.frameLocator(frame).locator('[data-tandem=collaborate]').click();
      await framesA.frameLocator(frame).locator('[data-tandem=badge][data-state=saved]').waitFor();
    }
    const links = (await a.browser.popupLinks()).filter((l) => l !== sealedLink);
    expect(links).toHaveLength(2);
    // (A body that is the editing host ends its last paragraph with a newline in our text model.)
    const stored = await Promise.all(links.map(async (l) => (await storedText(env.server, docIdOf(l), a.token)).trimEnd()));
    expect(stored.sort()).toEqual(['In a srcdoc frame + #srcdoc', 'In an about:blank frame + #blank'].sort());
  });

  it('a read-only field is not offered', async () => {
    const a = await user();
    const page = await a.browser.page(`${env.pages.url}/fields.html`);
    const control = page.locator('[data-tandem=collaborate]');
    await page.locator('#notes').click();
    await control.waitFor();
    await page.locator('#locked').click();
    await control.waitFor({ state: 'hidden' });
    expect(await value(page, '#locked')).toBe('Locked text');
  });

  it('a field inside a shared one, or holding one, is refused with the reason and left alone', async () => {
    const a = await user();
    const page = await a.browser.page(`${env.pages.url}/nested.html`);
    await collaborate(page, '#outer');
    await page.locator('#inner').click();
    await page.locator('[data-tandem=collaborate]').click();
    await page.locator('[data-tandem=notice]', { hasText: 'Tandem cannot collaborate here: it is inside a field that is already shared' }).waitFor();
    expect(await page.locator('[data-tandem=badge]').count()).toBe(1);
    expect(await value(page, '#inner')).toBe('Inner text');

    // The other way round: the inner one shared first, then the one around it (another address:
    // the first page's field binds again wherever its page opens).
    const again = await a.browser.page(`${env.pages.url}/nested.html?inner-first`);
    await collaborate(again, '#inner');
    await again.locator('#outer p').first().click();
    await again.locator('[data-tandem=collaborate]').click();
    await again.locator('[data-tandem=notice]', { hasText: 'it holds a field that is already shared' }).waitFor();
    expect(await again.locator('[data-tandem=badge]').count()).toBe(1);
    expect(await again.locator('#outer').innerText()).toContain('Outer text');
  });

  it('binds a field on a strict-CSP page and a field inside an iframe', async () => {
    const a = await user();
    const b = await user();
    const strictA = await a.browser.page(`${env.pages.url}/strict.html`);
    await strictA.fill('#strict', 'strict page');
    await collaborate(strictA, '#strict');
    const framedA = await a.browser.page(`${env.pages.url}/frame.html`);
    await framedA.frameLocator('#inner').locator('#framed').fill('in a frame');
    await collaborate(framedA, '#framed', '#inner');
    const links = await a.browser.popupLinks();
    expect(links).toHaveLength(2);

    const opened = [await openWhereWritten(b.browser, links[0]!), await openWhereWritten(b.browser, links[1]!)];
    const strictB = opened.find((p) => p.url().endsWith('/strict.html'))!;
    const framedB = opened.find((p) => p.url().endsWith('/frame.html'))!;
    await waitFor(async () => (await value(strictB, '#strict')) === 'strict page', { what: 'B on the strict page' });
    await waitFor(async () => (await framedB.frameLocator('#inner').locator('#framed').inputValue()) === 'in a frame', { what: 'B in the frame' });

    await strictB.locator('#strict').click();
    await strictB.locator('#strict').press('End');
    await strictB.keyboard.type(' + B', { delay: 10 });
    await framedB.frameLocator('#inner').locator('#framed').click();
    await framedB.frameLocator('#inner').locator('#framed').press('End');
    await framedB.keyboard.type(' + B', { delay: 10 });
    await waitFor(async () => (await value(strictA, '#strict')) === 'strict page + B', { what: 'A on the strict page' });
    await waitFor(async () => (await framedA.frameLocator('#inner').locator('#framed').inputValue()) === 'in a frame + B', { what: 'A in the frame' });
  });
});

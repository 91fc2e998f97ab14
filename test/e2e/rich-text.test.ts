/**
 * Rich text in Chromium, two users: formatting in a contenteditable reaches the other user in
 * place (same nodes, same listeners, carets kept) and is stored as Loro marks; undo removes only
 * one's own change while the other keeps typing; a document started in a textarea works in a
 * contenteditable and back.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEXT_CONTAINER } from '../../shared/document';
import { storedDoc } from '../helpers/stored';
import { waitFor } from '../helpers/wait';
import { chromiumAvailable, chromiumSuite, collaborate, docIdOf, openWhereWritten, storedText } from './harness';

/** Selects the first occurrence of `text` inside the element (within one text node). */
async function select(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).evaluate((root, text) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const at = (n as Text).data.indexOf(text);
      if (at < 0) continue;
      (root as HTMLElement).focus();
      document.getSelection()!.setBaseAndExtent(n, at, n, at + text.length);
      return;
    }
    throw new Error(`no "${text}" in ${root.innerHTML}`);
  }, text);
}

/** Puts the caret after the first occurrence of `text` inside the element. */
async function caretAfter(page: Page, selector: string, text: string): Promise<void> {
  await select(page, selector, text);
  await page.evaluate(() => document.getSelection()!.collapseToEnd());
}

/** The caret's offset in the text of `selector` (one paragraph: no block boundaries in between). */
const caretOffset = (page: Page, selector: string): Promise<number> =>
  page.locator(selector).evaluate((el) => {
    const sel = document.getSelection()!;
    const range = document.createRange();
    range.setStart(el, 0);
    range.setEnd(sel.focusNode!, sel.focusOffset);
    return range.toString().length;
  });

const html = (page: Page, selector: string): Promise<string> => page.locator(selector).evaluate((el) => el.innerHTML);
/** The element's text as people see it (a no-break space that Chrome typed is a space, as the binding reads it). */
const text = (page: Page, selector: string): Promise<string> => page.locator(selector).evaluate((el) => (el as HTMLElement).innerText.replace(/\u00a0/g, ' '));

describe.skipIf(!chromiumAvailable())('rich text in Chromium', () => {
  const env = chromiumSuite();
  const { user } = env;

  const storedDelta = async (docId: string) => (await storedDoc(env.db.handle.db, docId)).getText(TEXT_CONTAINER).toDelta();

  /** A starts on rich.html's #rich; B opens it where it was written. */
  async function richPair() {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/rich.html`);
    await collaborate(pageA, '#rich');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();
    return { a, b, pageA, pageB, link: link!, docId: docIdOf(link!) };
  }

  it('bold, italic and a link made by A appear at the same place for B, in place; typing at once converges; carets stay put', async () => {
    const { a, pageA, pageB, docId } = await richPair();

    await select(pageA, '#rich', 'world');
    await pageA.keyboard.press('Control+b'); // the browser's own command, as a person uses it
    await select(pageA, '#rich', 'Hello');
    await pageA.keyboard.press('Control+i');
    await select(pageA, '#rich', 'Second');
    await pageA.evaluate(() => document.execCommand('createLink', false, 'https://example.test/')); // as a page's toolbar does
    await waitFor(async () => (await html(pageB, '#first')) === '<em>Hello</em> <strong>world</strong>' && (await html(pageB, '#second')).startsWith('<a href="https://example.test/">Second</a> '), {
      what: 'B to show A’s formatting',
      timeoutMs: 15_000,
    });
    // In place: B's page still has its element, its own node in it, and its listener fires.
    expect(await pageB.evaluate(() => document.getElementById('rich') === (window as any).pageRich && document.getElementById('keep') === (window as any).pageKeep)).toBe(true);
    expect(await html(pageB, '#second')).toBe('<a href="https://example.test/">Second</a> <span id="keep" class="note">paragraph</span>');
    // B's page heard of A's changes as of any edit (a framework rendering from its state would otherwise put the old text back).
    expect(await pageB.evaluate(() => (window as any).pageRemoteInputs as number)).toBeGreaterThan(0);
    await waitFor(
      async () =>
        JSON.stringify(await storedDelta(docId)) ===
        JSON.stringify([
          { insert: 'Hello', attributes: { italic: true } },
          { insert: ' ' },
          { insert: 'world', attributes: { bold: true } },
          { insert: '\n' },
          { insert: 'Second', attributes: { link: 'https://example.test/' } },
          { insert: ' paragraph' },
        ]),
      { what: 'the stored document to hold the marks', timeoutMs: 15_000 },
    );

    // Both type in the first paragraph at once: A at its end (continuing bold), B after "Hello ".
    await caretAfter(pageA, '#rich', 'world');
    await caretAfter(pageB, '#first', 'Hello');
    await pageB.keyboard.press('ArrowRight'); // past the space, outside the italic
    const keysBefore = await pageB.evaluate(() => (window as any).pageKeys as number);
    await Promise.all([pageA.keyboard.type(' again', { delay: 20 }), pageB.keyboard.type('big ', { delay: 20 })]);
    const expected = 'Hello big world again';
    await waitFor(async () => (await text(pageA, '#first')) === expected && (await text(pageB, '#first')) === expected, { what: 'both to converge', timeoutMs: 20_000 });
    expect(await pageB.evaluate(() => (window as any).pageKeys as number)).toBe(keysBefore + 'big '.length);
    expect(await caretOffset(pageA, '#first')).toBe(expected.length);
    expect(await caretOffset(pageB, '#first')).toBe('Hello big '.length);
    await waitFor(async () => (await storedText(env.server, docId, a.token)) === `${expected}\nSecond paragraph`, { what: 'the stored text' });
    const stored = await storedDelta(docId);
    expect(stored[0]).toEqual({ insert: 'Hello', attributes: { italic: true } });
    expect(stored).toContainEqual({ insert: 'world again', attributes: { bold: true } });
  });

  it('formatting Tandem does not know stays on the page that made it; a plaintext-only host is bound as plain text', async () => {
    const { b, pageA, pageB, docId, link } = await richPair();
    await select(pageA, '#rich', 'Hello');
    await pageA.evaluate(() => document.execCommand('foreColor', false, '#cc0000'));
    await select(pageA, '#rich', 'world');
    await pageA.keyboard.press('Control+b');
    // The bold arrives after the colour would have (one ordered channel): the colour never does.
    await waitFor(async () => (await html(pageB, '#first')) === 'Hello <strong>world</strong>', { what: 'B to show the bold' });
    expect(await html(pageA, '#first')).toBe('<font color="#cc0000">Hello</font> <b>world</b>');
    const expectedDelta = JSON.stringify([{ insert: 'Hello ' }, { insert: 'world', attributes: { bold: true } }, { insert: '\nSecond paragraph' }]);
    await waitFor(async () => JSON.stringify(await storedDelta(docId)) === expectedDelta, { what: 'the bold, and no colour, to be stored' });
    await caretAfter(pageB, '#first', 'Hello');
    await pageB.keyboard.type(' there');
    await waitFor(async () => (await text(pageA, '#first')) === 'Hello there world', { what: 'A to see B’s typing' });
    expect(await pageA.locator('#first font[color="#cc0000"]').count()).toBe(1); // A's colour is still A's

    // plaintext-only: bound by the same code, without formatting (Ctrl+B does nothing there).
    await collaborate(pageB, '#plainonly');
    await caretAfter(pageB, '#plainonly', 'only');
    await pageB.keyboard.type(' text');
    await select(pageB, '#plainonly', 'Plain');
    await pageB.keyboard.press('Control+b');
    const plainDoc = docIdOf((await b.browser.popupLinks()).find((l) => l !== link)!);
    await waitFor(async () => (await storedText(env.server, plainDoc, b.token)) === 'Plain only text', { what: 'the plaintext-only host’s text to be stored' });
    expect(await storedDelta(plainDoc)).toEqual([{ insert: 'Plain only text' }]);
  });

  it('holds remote edits during IME composition in a contenteditable and applies them after it ends', async () => {
    const { a, pageA, pageB, docId } = await richPair();
    await caretAfter(pageA, '#rich', 'world');
    const ime = await a.browser.context.newCDPSession(pageA);
    await ime.send('Input.imeSetComposition', { text: 'にほ', selectionStart: 2, selectionEnd: 2 });
    await caretAfter(pageB, '#rich', 'Second');
    await pageB.keyboard.type(' B');
    await waitFor(async () => (await storedText(env.server, docId, a.token)) === 'Hello world\nSecond B paragraph', { what: 'B’s edit to be stored' });
    expect(await text(pageA, '#second')).toBe('Second paragraph'); // held while A composes
    expect(await text(pageA, '#first')).toBe('Hello worldにほ');
    await ime.send('Input.insertText', { text: 'にほん' }); // commits the composition
    const converged = async (page: Page): Promise<boolean> => (await text(page, '#first')) === 'Hello worldにほん' && (await text(page, '#second')) === 'Second B paragraph';
    await waitFor(async () => (await converged(pageA)) && (await converged(pageB)), { what: 'both to converge after the composition' });
  });

  it('undo in a contenteditable removes only my change while the other user keeps typing; redo brings it back', async () => {
    const { pageA, pageB } = await richPair();
    await caretAfter(pageA, '#rich', 'Hello');
    await pageA.keyboard.type(' there', { delay: 10 });
    await waitFor(async () => (await text(pageB, '#first')) === 'Hello there world', { what: 'B to see A’s words' });

    await caretAfter(pageB, '#rich', 'paragraph');
    const typing = pageB.keyboard.type(' and B goes on', { delay: 25 });
    await pageA.keyboard.press('Control+z');
    await typing;
    const both = async (selector: string, expected: string): Promise<boolean> => (await text(pageA, selector)) === expected && (await text(pageB, selector)) === expected;
    await waitFor(async () => (await both('#first', 'Hello world')) && (await both('#second', 'Second paragraph and B goes on')), { what: 'A’s words undone, B’s kept', timeoutMs: 15_000 });
    expect(await caretOffset(pageA, '#first')).toBe('Hello'.length); // where the undone words were
    await pageA.keyboard.press('Control+Shift+z');
    await waitFor(async () => (await text(pageB, '#first')) === 'Hello there world', { what: 'the redo to reach B' });
  });

  it('undo in a textarea removes only my change while the other user keeps typing, and the browser’s own undo never runs', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Shared.');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await pageB.locator('#notes').inputValue()) === 'Shared.', { what: 'B to join' });

    await pageA.locator('#notes').press('Home');
    await pageA.keyboard.type('Mine ', { delay: 10 });
    await waitFor(async () => (await pageB.locator('#notes').inputValue()) === 'Mine Shared.', { what: 'B to see A’s word' });
    await pageB.locator('#notes').click();
    await pageB.locator('#notes').press('End');
    const typing = pageB.keyboard.type(' Theirs too.', { delay: 25 });
    // The history command a menu sends: refused by the binding (else the browser would undo it natively).
    await pageA.locator('#notes').evaluate((el) => {
      const event = new InputEvent('beforeinput', { inputType: 'historyUndo', cancelable: true, bubbles: true });
      el.dispatchEvent(event);
      (window as any).undoPrevented = event.defaultPrevented;
    });
    await typing;
    const expected = 'Shared. Theirs too.';
    await waitFor(async () => (await pageA.locator('#notes').inputValue()) === expected && (await pageB.locator('#notes').inputValue()) === expected, {
      what: 'A’s word undone, B’s kept',
      timeoutMs: 15_000,
    });
    expect(await pageA.evaluate(() => (window as any).undoPrevented)).toBe(true);
    expect(await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(0);
    await pageA.keyboard.press('Control+y');
    await waitFor(async () => (await pageB.locator('#notes').inputValue()) === `Mine ${expected}`, { what: 'the redo to reach B' });
  });

  it('a document started in a textarea works in a contenteditable and back: marks stay invisible to the textarea', async () => {
    const a = await user();
    const b = await user();
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', 'Plain start');
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const landing = await b.browser.page(link!);
    await landing.locator('#tandem-pick-field').click();
    const pageB = await b.browser.page(`${env.pages.url}/rich.html`);
    await pageB.locator('#blank').click();
    await pageB.locator('[data-tandem=bind-offered]').click();
    await waitFor(async () => (await text(pageB, '#blank')) === 'Plain start', { what: 'the contenteditable to get the text' });

    await select(pageB, '#blank', 'Plain');
    await pageB.keyboard.press('Control+b');
    await caretAfter(pageB, '#blank', 'start');
    await pageB.keyboard.type(' more', { delay: 10 });
    await waitFor(async () => (await pageA.locator('#notes').inputValue()) === 'Plain start more', { what: 'the textarea to get the text, without marks' });
    // The textarea types inside the bold word: the contenteditable shows it bold (Loro's expand rule).
    await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(3, 3));
    await pageA.keyboard.type('XY');
    await waitFor(async () => (await html(pageB, '#blank')) === '<b>PlaXYin</b> start more', { what: 'the contenteditable to show the typing bold' });
    await pageA.keyboard.press('Enter');
    await pageA.keyboard.type('next');
    await waitFor(async () => (await text(pageB, '#blank')) === 'PlaXY\nnextin start more', { what: 'a line break from the textarea' });
    expect(await pageA.locator('#notes').inputValue()).toBe('PlaXY\nnextin start more');
  });
});

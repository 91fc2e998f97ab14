/**
 * Presence in Chromium: a collaborator's caret and selection are drawn where that person's real
 * caret is (measured from the browser's own caret, painted pure red, in a screenshot), in the
 * other user's textarea and on the server's editor page; they go when the person leaves. The
 * overlay over a contenteditable with the simple text-node offset mapping. Screenshots go to
 * test-results/ as evidence.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait';
import { CHROMIUM, ROOT, chromiumAvailable, chromiumSuite, collaborate, openWhereWritten } from './harness';

const RESULTS = join(ROOT, 'test-results');

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The bounding box (page coordinates) of the pixels in `clip` that pass `match`, decoded in the page itself. */
async function pixelsBox(page: Page, png: Buffer, clip: Box, match: 'red' | string): Promise<Box | null> {
  return page.evaluate(
    async ({ b64, clip, match }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(bitmap, 0, 0);
      const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const want = match === 'red' ? null : [1, 3, 5].map((i) => parseInt(match.slice(i, i + 2), 16));
      let minX = Infinity,
        minY = Infinity,
        maxX = -Infinity,
        maxY = -Infinity;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const [r, g, b] = [data[(y * width + x) * 4]!, data[(y * width + x) * 4 + 1]!, data[(y * width + x) * 4 + 2]!];
          // The native caret is painted #ff0000; the overlay's palette never goes above 0.72 in a channel.
          const ok = want ? Math.abs(r - want[0]!) <= 2 && Math.abs(g - want[1]!) <= 2 && Math.abs(b - want[2]!) <= 2 : r > 230 && g < 60 && b < 60;
          if (!ok) continue;
          minX = Math.min(minX, x);
          minY = Math.min(minY, y);
          maxX = Math.max(maxX, x);
          maxY = Math.max(maxY, y);
        }
      }
      return minX === Infinity ? null : { x: clip.x + minX, y: clip.y + minY, width: maxX - minX + 1, height: maxY - minY + 1 };
    },
    { b64: png.toString('base64'), clip, match },
  );
}

/** Where the browser paints its own caret in `selector` (the caret blinks: screenshots until it shows). */
async function nativeCaret(page: Page, selector: string): Promise<Box> {
  const clip = (await page.locator(selector).boundingBox())!;
  return waitFor(async () => pixelsBox(page, await page.screenshot({ clip, caret: 'initial' }), clip, 'red'), { what: 'the native caret in a screenshot' });
}

/** Puts the real caret at `offset` of a textarea the way a person would: the last step is a key press. */
async function caretAt(page: Page, selector: string, offset: number): Promise<void> {
  await page.locator(selector).focus();
  await page.locator(selector).evaluate((el: HTMLTextAreaElement, at) => el.setSelectionRange(at - 1, at - 1), offset);
  await page.keyboard.press('ArrowRight');
}

const overlayCaret = (page: Page, offset: number) => page.locator(`[data-tandem=presence] .caret[data-offset="${offset}"]`);

describe.skipIf(!chromiumAvailable())('presence in Chromium', () => {
  const env = chromiumSuite();
  const { user } = env;
  beforeAll(async () => {
    await mkdir(RESULTS, { recursive: true });
  });

  it("B sees A's caret and selection where A's real caret is, following B's own typing, dimmed when A is idle, on the server's editor page too; A's leaving removes them", async () => {
    const a = await user();
    const b = await user();
    // A goes idle after 3 s without moving instead of 60 s (read when the idle timer is armed).
    await a.browser.worker.evaluate(() => ((globalThis as { __tandemIdleAfterMs?: number }).__tandemIdleAfterMs = 3_000));
    const nameA = ((await (await fetch(`${env.server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${a.token}` } })).json()) as { user: { displayName: string } }).user.displayName;
    const text = 'First line of the shared notes.\nSecond line, where A puts the caret.\nThird line.';
    const pageA = await a.browser.page(`${env.pages.url}/fields.html`);
    await pageA.fill('#notes', text);
    await collaborate(pageA, '#notes');
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    await waitFor(async () => (await pageB.locator('#notes').inputValue()) === text, { what: 'B to get the text' });
    await pageB.locator('[data-tandem=badge][data-state=saved]').waitFor();

    // A's caret in the middle of the second line; the browser paints it red on A's page.
    await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement) => (el.style.caretColor = '#ff0000'));
    const at = text.indexOf('where');
    await caretAt(pageA, '#notes', at);
    const real = await nativeCaret(pageA, '#notes');

    // B: A's caret at the same offset, at the same place (both pages lay the field out alike).
    const caret = overlayCaret(pageB, at);
    await caret.waitFor();
    expect(await caret.getAttribute('data-name')).toBe(nameA);
    const drawn = (await caret.boundingBox())!;
    expect(Math.abs(drawn.x + drawn.width / 2 - (real.x + real.width / 2))).toBeLessThanOrEqual(2);
    expect(Math.abs(drawn.y + drawn.height / 2 - (real.y + real.height / 2))).toBeLessThanOrEqual(3);
    // Evidence: B's screen, and A's colour painted where the caret is.
    const color = (await caret.getAttribute('data-color'))!;
    const shot = await pageB.screenshot();
    await writeFile(join(RESULTS, 'presence-textarea-chromium.png'), shot);
    const clip = { x: Math.floor(drawn.x) - 1, y: Math.floor(drawn.y), width: Math.ceil(drawn.width) + 2, height: Math.ceil(drawn.height) };
    const painted = await pixelsBox(pageB, await pageB.screenshot({ clip }), clip, color);
    expect(painted?.height).toBeGreaterThanOrEqual(drawn.height - 2);
    // B's badge says who else is there, and so does B's popup.
    const chip = pageB.locator('[data-tandem=peers]');
    await waitFor(async () => (await chip.getAttribute('title'))?.includes(nameA), { what: "A's name beside B's badge" });
    expect(await chip.getAttribute('data-count')).toBe('1');
    const popup = await b.browser.page(`chrome-extension://${b.browser.extensionId}/popup.html`);
    await popup.locator('[data-tandem=others]', { hasText: nameA }).waitFor();
    await popup.close();

    // B types before A's caret: the caret stays on A's character (a Loro cursor, not an offset).
    await pageB.locator('#notes').focus();
    await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(0, 0));
    await pageB.keyboard.type('B: ');
    await waitFor(async () => (await pageA.locator('#notes').inputValue()).startsWith('B: First'), { what: "B's typing at A" });
    await overlayCaret(pageB, at + 3).waitFor();
    // And B's caret shows at A, after the three characters B typed.
    await overlayCaret(pageA, 3).waitFor();
    await pageB.keyboard.press('Backspace');
    await pageB.keyboard.press('Backspace');
    await pageB.keyboard.press('Backspace');
    await overlayCaret(pageB, at).waitFor();
    await waitFor(async () => (await pageA.locator('#notes').inputValue()) === text, { what: 'the text back as it was at A' });

    // A selects from there across the line break: B sees translucent rectangles from A's caret position on.
    const end = text.indexOf('Third') + 5;
    await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement, [s, e]) => el.setSelectionRange(s!, e! - 1), [at, end]);
    await pageA.keyboard.press('Shift+ArrowRight');
    const rects = pageB.locator(`[data-tandem=presence] .sel[data-start="${at}"][data-end="${end}"]`);
    await waitFor(async () => (await rects.count()) === 2, { what: 'a two-line selection at B' });
    const first = (await rects.first().boundingBox())!;
    expect(Math.abs(first.x - (real.x + real.width / 2))).toBeLessThanOrEqual(2);
    expect(Math.abs(first.y + first.height / 2 - (real.y + real.height / 2))).toBeLessThanOrEqual(3);
    expect(await overlayCaret(pageB, end).count()).toBe(1); // the caret is at the head
    await writeFile(join(RESULTS, 'presence-selection-chromium.png'), await pageB.screenshot());

    // The server's editor page (same FieldBinding and overlay, no extension involved) shows A too.
    const editor = await b.browser.page(link!);
    await editor.locator(`[data-tandem=presence] .caret[data-offset="${end}"][data-name="${nameA}"]`).waitFor();
    await editor.locator('[data-tandem=peers]', { hasText: nameA }).waitFor();
    // B's own editor page is B elsewhere: its caret shows in B's field, but B is not counted as another person.
    await editor.locator('#tandem-editor').click();
    const nameB = ((await (await fetch(`${env.server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${b.token}` } })).json()) as { user: { displayName: string } }).user.displayName;
    await pageB.locator(`[data-tandem=presence] .caret[data-name="${nameB}"]`).waitFor();
    expect(await chip.getAttribute('data-count')).toBe('1');

    // Scrolled and resized: a long text, both fields narrowed (wrapping changes), A's caret near
    // the end (A's field scrolls to it), B scrolled to the same place: B draws A's caret where
    // A's browser paints it.
    const long = `${text}\n${Array.from({ length: 40 }, (_, i) => `Line ${i + 4} of the long part, long enough to wrap when narrow.`).join('\n')}`;
    await pageA.locator('#notes').fill(long);
    await waitFor(async () => (await pageB.locator('#notes').inputValue()) === long, { what: 'the long text at B' });
    for (const p of [pageA, pageB]) await p.locator('#notes').evaluate((el: HTMLTextAreaElement) => (el.style.width = '320px'));
    const deep = long.indexOf('Line 37') + 5;
    await caretAt(pageA, '#notes', deep);
    const scrollTop = await pageA.locator('#notes').evaluate((el: HTMLTextAreaElement) => el.scrollTop);
    expect(scrollTop).toBeGreaterThan(100);
    const realDeep = await nativeCaret(pageA, '#notes');
    await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement, top) => (el.scrollTop = top), scrollTop);
    const deepCaret = overlayCaret(pageB, deep);
    await deepCaret.waitFor();
    const drawnDeep = (await deepCaret.boundingBox())!;
    expect(Math.abs(drawnDeep.x + drawnDeep.width / 2 - (realDeep.x + realDeep.width / 2))).toBeLessThanOrEqual(2);
    expect(Math.abs(drawnDeep.y + drawnDeep.height / 2 - (realDeep.y + realDeep.height / 2))).toBeLessThanOrEqual(3);
    await writeFile(join(RESULTS, 'presence-scrolled-chromium.png'), await pageB.screenshot());
    // Scrolled back to the top, B's field does not show A's caret (it would point at nothing).
    await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement) => (el.scrollTop = 0));
    await waitFor(async () => (await overlayCaret(pageB, deep).count()) === 0, { what: 'the caret hidden while scrolled out of view' });
    const end2 = deep;

    // A does nothing for a while: dimmed (idle) at B; a key press makes A active again.
    await pageB.locator('#notes').evaluate((el: HTMLTextAreaElement, top) => (el.scrollTop = top), scrollTop);
    await pageB.locator('[data-tandem=presence] .caret[data-idle="true"]').waitFor({ timeout: 10_000 });
    await pageA.keyboard.press('Shift+ArrowLeft');
    await pageB.locator(`[data-tandem=presence] .caret[data-idle="false"][data-offset="${end2 - 1}"]`).waitFor();

    // A closes the tab: gone from B's field and the editor page at once (expiry would take 60 s).
    const t0 = Date.now();
    await pageA.close();
    await waitFor(async () => (await pageB.locator(`[data-tandem=presence] .caret[data-name="${nameA}"]`).count()) === 0, { what: "A's caret to go at B", timeoutMs: 10_000 });
    await waitFor(async () => (await editor.locator(`[data-tandem=presence] [data-name="${nameA}"]`).count()) === 0, { what: "A's caret to go on the editor page", timeoutMs: 10_000 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await pageB.locator('[data-tandem=presence] .sel').count()).toBe(0);
    await waitFor(async () => (await chip.getAttribute('data-count')) === '0', { what: "B's chip to count nobody else" });
  });

  it.each([
    { path: 'rich.html', selector: '#rich', frame: undefined },
    { path: 'framed-editors.html', selector: 'body', frame: '#srcdoc' },
  ])("$path $selector (contenteditable): A sees B's caret and B sees A's, where it is: a line's end, an empty line, a line's start", async ({ path, selector, frame }) => {
    const a = await user();
    const b = await user();
    const nameOf = async (token: string): Promise<string> =>
      ((await (await fetch(`${env.server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { displayName: string } }).user.displayName;
    const pageA = await a.browser.page(`${env.pages.url}/${path}`);
    await collaborate(pageA, selector, frame);
    const [link] = await a.browser.popupLinks();
    const pageB = await openWhereWritten(b.browser, link!);
    const scope = (page: Page) => (frame ? page.frameLocator(frame) : page);
    await scope(pageB).locator('[data-tandem=badge][data-state=saved]').waitFor();
    /** The field's lines (its paragraphs' text: a placeholder <br> left at a line's end is no difference). */
    const lines = (page: Page): Promise<string> =>
      scope(page)
        .locator(selector)
        .evaluate((el) => JSON.stringify([...el.children].map((p) => p.textContent)));
    const first = (JSON.parse(await lines(pageA)) as string[])[0]!.length;
    for (const page of [pageA, pageB])
      await scope(page)
        .locator(selector)
        .evaluate((el) => ((el as HTMLElement).style.caretColor = '#ff0000'));

    for (const [mover, watcher, name, who] of [
      [pageA, pageB, await nameOf(a.token), 'A at B'],
      [pageB, pageA, await nameOf(b.token), 'B at A'],
    ] as const) {
      await scope(mover).locator(selector).focus();
      await mover.keyboard.press('Control+Home');
      for (const [where, key, offset] of [
        ["the first line's end", 'End', first],
        ['an empty line', 'Enter', first + 1],
        ["the first line's end again", 'Backspace', first],
        ["the first line's start", 'Home', 0],
      ] as const) {
        await mover.keyboard.press(key);
        await waitFor(async () => (await lines(watcher)) === (await lines(mover)), { what: `${who}: the same lines (${where})` });
        const drawn = scope(watcher).locator(`[data-tandem=presence] .caret[data-name="${name}"][data-offset="${offset}"]`);
        await drawn.waitFor({ timeout: 10_000 });
        // The mover's own page draws the watcher's caret too, maybe at the same place: hidden while measuring.
        const overlay = (shown: boolean) =>
          scope(mover)
            .locator('[data-tandem=presence]')
            .evaluateAll((els, shown) => els.forEach((el) => ((el as HTMLElement).style.visibility = shown ? '' : 'hidden')), shown);
        await overlay(false);
        const real = await nativeCaret(mover, frame ?? selector);
        await overlay(true);
        const box = (await drawn.boundingBox())!;
        expect(Math.abs(box.x + box.width / 2 - (real.x + real.width / 2)), `${who}, ${where}: x`).toBeLessThanOrEqual(2);
        expect(Math.abs(box.y + box.height / 2 - (real.y + real.height / 2)), `${who}, ${where}: y`).toBeLessThanOrEqual(4);
      }
    }
  });

  it('a contenteditable with nested inline elements: the caret and selection land on the text (simple text-node mapping)', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${env.pages.url}/presence-rich.html`);
      // Offsets count text-node characters: "Hello bold and italic nested words…"
      const content = await page.locator('#rich').evaluate((el) => el.textContent!);
      const inNested = content.indexOf('nested') + 3; // inside <u> inside <i>
      const wrapped = content.indexOf('second'); // on the second visual line
      const from = content.indexOf('bold') + 2; // inside <b>
      const real = new Map<number, Box>();
      for (const offset of [inNested, wrapped, from]) {
        // The real caret there, through the Selection API on the text node the test finds itself.
        await page.locator('#rich').evaluate((el, at) => {
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          let left = at;
          for (let n = walker.nextNode() as Text | null; n; n = walker.nextNode() as Text | null) {
            if (left <= n.data.length) {
              (el as HTMLElement).focus();
              getSelection()!.setBaseAndExtent(n, left, n, left);
              return;
            }
            left -= n.data.length;
          }
        }, offset);
        await page.evaluate(() => (globalThis as unknown as { tandemOverlay: { show(p: unknown[]): void } }).tandemOverlay.show([]));
        const caret = await nativeCaret(page, '#rich');
        real.set(offset, caret);
        await page.evaluate(
          (at) =>
            (globalThis as unknown as { tandemOverlay: { show(p: unknown[]): void } }).tandemOverlay.show([{ id: 'p1', user: 'u1', name: 'Ada', color: '#2040c0', anchor: at, head: at, idle: false }]),
          offset,
        );
        const drawn = (await overlayCaret(page, offset).boundingBox())!;
        expect(Math.abs(drawn.x + drawn.width / 2 - (caret.x + caret.width / 2)), `offset ${offset}`).toBeLessThanOrEqual(2);
        expect(Math.abs(drawn.y + drawn.height / 2 - (caret.y + caret.height / 2)), `offset ${offset}`).toBeLessThanOrEqual(4);
      }
      // A selection from inside <b>, across nested elements and onto the next line: one rectangle
      // per line, starting where the real caret stood, ending where it stood at `wrapped`.
      await page.evaluate(
        ([s, e]) =>
          (globalThis as unknown as { tandemOverlay: { show(p: unknown[]): void } }).tandemOverlay.show([{ id: 'p1', user: 'u1', name: 'Ada', color: '#2040c0', anchor: s, head: e, idle: true }]),
        [from, wrapped],
      );
      const sel = page.locator('[data-tandem=presence] .sel[data-peer=p1]');
      await waitFor(async () => (await sel.count()) === 2 && (await page.locator('[data-tandem=presence] .caret[data-idle=true]').count()) === 1, { what: 'a two-line selection and an idle caret' });
      const [line1, line2] = [(await sel.nth(0).boundingBox())!, (await sel.nth(1).boundingBox())!];
      const start = real.get(from)!;
      const stop = real.get(wrapped)!;
      expect(Math.abs(line1.x - (start.x + start.width / 2))).toBeLessThanOrEqual(2);
      expect(Math.abs(line1.y + line1.height / 2 - (start.y + start.height / 2))).toBeLessThanOrEqual(4);
      expect(Math.abs(line2.x + line2.width - (stop.x + stop.width / 2))).toBeLessThanOrEqual(2);
      expect(Math.abs(line2.y + line2.height / 2 - (stop.y + stop.height / 2))).toBeLessThanOrEqual(4);
      await writeFile(join(RESULTS, 'presence-contenteditable-chromium.png'), await page.screenshot());
    } finally {
      await browser.close();
    }
  });
});

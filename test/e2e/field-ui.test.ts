/**
 * Tandem's own UI never takes a click meant for a field (Chromium; Firefox: firefox.test.ts):
 * right after binding, with the notice, the badge and the collaborate control showing, every
 * point of the field's box is the field's (document.elementFromPoint), and a click at its first
 * line's text puts the caret there: the keys typed then give exactly what they give in the
 * same field unbound. The notice sits outside the field and can be dismissed.
 */
import type { Frame, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait';
import { chromiumAvailable, chromiumSuite, collaborate } from './harness';

interface Point {
  x: number;
  y: number;
}

/**
 * In the field's own frame: points on a grid over the field's box that are not the field's (the
 * element there is neither the field nor inside it), and the middle of its first character.
 */
async function probe(frame: Frame, selector: string): Promise<{ foreign: string[]; first: Point }> {
  return frame.locator(selector).evaluate((field) => {
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
    let first: { x: number; y: number };
    if (field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement) {
      // The first character's left half: the padding's inner edge, half a line down.
      const cs = getComputedStyle(field);
      const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.2;
      first = { x: box.left + field.clientLeft + parseFloat(cs.paddingLeft) + 1, y: box.top + field.clientTop + parseFloat(cs.paddingTop) + line / 2 };
    } else {
      const walker = document.createTreeWalker(field, NodeFilter.SHOW_TEXT, { acceptNode: (n) => ((n as Text).data.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP) });
      const text = walker.nextNode() as Text;
      const range = document.createRange();
      range.setStart(text, 0);
      range.setEnd(text, 1);
      const r = range.getBoundingClientRect();
      first = { x: r.left + 1, y: r.top + r.height / 2 };
    }
    return { foreign, first };
  });
}

/** The field's text: a control's value, an editing host's lines. */
const textOf = (frame: Frame, selector: string): Promise<string> =>
  frame.locator(selector).evaluate((el) => (el instanceof HTMLTextAreaElement || el instanceof HTMLInputElement ? el.value : (el as HTMLElement).innerText));

/** Where `frame` starts on the page (a point in it, in page coordinates). */
async function onPage(page: Page, frame: Frame, point: Point): Promise<Point> {
  if (frame === page.mainFrame()) return point;
  const box = (await (await frame.frameElement()).boundingBox())!;
  return { x: box.x + point.x, y: box.y + point.y };
}

interface Case {
  page: string;
  selector: string;
  frame?: string;
  /** Text put in the field before binding (a control's value). */
  fill?: string;
}

const cases: Case[] = [
  { page: 'fields.html', selector: '#notes', fill: 'First line of the notes\nSecond line' },
  { page: 'strict.html', selector: '#strict', fill: 'First line on a strict page\nSecond line' },
  { page: 'rich.html', selector: '#rich' },
  { page: 'framed-editors.html', selector: 'body', frame: '#srcdoc' },
];

describe.skipIf(!chromiumAvailable())("Tandem's UI and the page's field, in Chromium", () => {
  const env = chromiumSuite();

  /** Puts the caret at the field's end, clicks its first character, types: the field's text after. */
  async function clickFirstAndType(page: Page, c: Case, frame: Frame): Promise<{ foreign: string[]; text: string }> {
    await frame.locator(c.selector).focus();
    await page.keyboard.press('Control+End');
    const { foreign, first } = await probe(frame, c.selector);
    const at = await onPage(page, frame, first);
    await page.mouse.click(at.x, at.y);
    await page.keyboard.type('X');
    return { foreign, text: await textOf(frame, c.selector) };
  }

  const frameOf = async (page: Page, c: Case): Promise<Frame> => (c.frame ? (await (await page.locator(c.frame).elementHandle())!.contentFrame())! : page.mainFrame());

  it.each(cases)('$page $selector: after binding, a click at the first line puts the caret there; the notice is outside the field and dismissible', async (c) => {
    const { browser } = await env.user();
    // The same keys in the same field, unbound.
    const plain = await browser.page(`${env.pages.url}/${c.page}`);
    const plainFrame = await frameOf(plain, c);
    if (c.fill) await plainFrame.locator(c.selector).fill(c.fill);
    const unbound = await clickFirstAndType(plain, c, plainFrame);
    expect(unbound.text.startsWith('X')).toBe(true);
    await plain.close();

    const page = await browser.page(`${env.pages.url}/${c.page}`);
    const frame = await frameOf(page, c);
    if (c.fill) await frame.locator(c.selector).fill(c.fill);
    await collaborate(page, c.selector, c.frame);
    const scope = c.frame ? page.frameLocator(c.frame) : page;
    const notice = scope.locator('[data-tandem=notice]', { hasText: 'Collaborating' });
    await notice.waitFor();
    const bound = await clickFirstAndType(page, c, frame);
    expect(bound.text).toBe(unbound.text);
    expect(bound.foreign, 'points of the field that are not the field').toEqual([]);
    // The badge, and the notice unless it had to go over the field (a frame's body editor: then
    // the person's click dismissed it), are outside the field's box.
    const field = (await scope.locator(c.selector).boundingBox())!;
    const beside = async (ours: typeof notice, what: string): Promise<void> => {
      const box = (await ours.boundingBox())!;
      expect(box.width).toBeGreaterThan(0);
      const apart = box.y + box.height <= field.y + 0.5 || box.y >= field.y + field.height - 0.5;
      expect(apart, `the ${what} ${JSON.stringify(box)} beside ${JSON.stringify(field)}`).toBe(true);
    };
    await beside(scope.locator('[data-tandem=badge]'), 'badge');
    if ((await notice.count()) > 0) {
      await beside(notice, 'notice');
      await scope.locator('[data-tandem=dismiss]').click();
      await waitFor(async () => (await notice.count()) === 0, { what: 'the notice to go' });
    } else expect(c.frame, 'the notice dismissed by a click in the field is one over a frame body').toBeDefined();
    // The field kept the focus.
    expect(await frame.locator(c.selector).evaluate((el) => el.ownerDocument.activeElement === el)).toBe(true);
  });
});

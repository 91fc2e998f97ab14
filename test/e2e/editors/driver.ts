/**
 * One tab as the editor scenarios drive it, whichever browser: Chromium through playwright-core,
 * Firefox through puppeteer-core (their page APIs differ in small ways; the scenarios see this).
 * Everything about the editor is read through the page's `window.editorTest` (its model's API).
 */
import type { Page as PlaywrightPage } from 'playwright-core';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import { waitFor } from '../../helpers/wait';

export interface Tab {
  readonly url: string;
  evaluate<T, A>(fn: (arg: A) => T, arg: A): Promise<Awaited<T>>;
  /** Types like a person: `delay` ms between keys (15 by default). */
  type(text: string, delay?: number): Promise<void>;
  /** A key with modifiers held (`Control`, `Shift`, `Meta`), held down `keyHoldMs`. */
  press(key: string, modifiers?: string[]): Promise<void>;
  /** How long `press` holds a key down (0: at once). */
  keyHoldMs: number;
  click(x: number, y: number): Promise<void>;
  close(): Promise<void>;
}

export function playwrightTab(page: PlaywrightPage): Tab {
  const tab: Tab = {
    keyHoldMs: 0,
    get url() {
      return page.url();
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
    type: (text, delay = 15) => page.keyboard.type(text, { delay }),
    press: (key, modifiers = []) => page.keyboard.press([...modifiers, key].join('+'), { delay: tab.keyHoldMs }),
    click: (x, y) => page.mouse.click(x, y),
    close: () => page.close(),
  };
  return tab;
}

export function puppeteerTab(page: PuppeteerPage): Tab {
  const tab: Tab = {
    keyHoldMs: 0,
    get url() {
      return page.url();
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
    type: (text, delay = 15) => page.keyboard.type(text, { delay }),
    async press(key, modifiers = []) {
      for (const m of modifiers) await page.keyboard.down(m as never);
      await page.keyboard.press(key as never, { delay: tab.keyHoldMs });
      for (const m of [...modifiers].reverse()) await page.keyboard.up(m as never);
    },
    click: (x, y) => page.mouse.click(x, y),
    close: () => page.close(),
  };
  return tab;
}

/** The model's text of one of the page's editors. */
export const text = (tab: Tab, id: string): Promise<string> => tab.evaluate((i) => window.editorTest.text(i), id);
export const selection = (tab: Tab, id: string): Promise<{ anchor: number; head: number } | null> => tab.evaluate((i) => window.editorTest.selection(i), id);
export const rich = (tab: Tab, id: string): Promise<{ insert: string; attributes?: Record<string, unknown> }[]> => tab.evaluate((i) => window.editorTest.rich?.(i) ?? [], id);

/** Focuses an editor with its selection at [anchor, head] (through the editor's API). */
export const select = (tab: Tab, id: string, anchor: number, head = anchor): Promise<void> =>
  tab.evaluate(([i, a, h]) => window.editorTest.select(i, a, h), [id, anchor, head] as [string, number, number]);

export const waitReady = (tab: Tab): Promise<unknown> =>
  waitFor(() => tab.evaluate(() => document.documentElement.dataset.editorReady === 'true', null), { what: 'the editor page', timeoutMs: 20_000 });

/** Tandem's UI on the page (our shadow root): the badges' states and the last notice. */
export const tandemUi = (tab: Tab): Promise<{ badges: string[]; notice: string | null; collaborate: { x: number; y: number } | null }> =>
  tab.evaluate(() => {
    const root = document.querySelector('[data-tandem-ui]')?.shadowRoot;
    const button = root?.querySelector('[data-tandem=collaborate]') as HTMLElement | null | undefined;
    const r = button?.getBoundingClientRect();
    return {
      badges: [...(root?.querySelectorAll('[data-tandem=badge]') ?? [])].map((b) => b.getAttribute('data-state') ?? ''),
      notice: root?.querySelector('[data-tandem=notice]')?.textContent ?? null,
      collaborate: r && r.width > 0 ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null,
    };
  }, null);

/** The carets Tandem draws for others on this page: name, offset and box. */
export const drawnCarets = (tab: Tab): Promise<{ name: string; offset: number; left: number; top: number; height: number }[]> =>
  tab.evaluate(
    () =>
      [...(document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelectorAll('[data-tandem=presence] .caret') ?? [])].map((el) => {
        const r = el.getBoundingClientRect();
        return { name: el.getAttribute('data-name') ?? '', offset: Number(el.getAttribute('data-offset')), left: r.left, top: r.top, height: r.height };
      }),
    null,
  );

/** Clicks Tandem's "Collaborate" control with a real mouse click, once it is shown for editor `id` (next to its root). */
export async function clickCollaborate(tab: Tab, id = 'shared'): Promise<void> {
  const { collaborate } = await waitFor(
    async () => {
      const ui = await tandemUi(tab);
      if (!ui.collaborate) return null;
      const root = await tab.evaluate((i) => {
        const r = window.editorTest?.root(i).getBoundingClientRect();
        return r ? { left: r.left, top: r.top, right: r.right, bottom: r.bottom } : null;
      }, id);
      // The control sits at its field's top edge: it must be this editor's (focus moves between frames unseen for a moment).
      const { x, y } = ui.collaborate;
      return !root || (x >= root.left - 120 && x <= root.right + 120 && y >= root.top - 40 && y <= root.bottom) ? ui : null;
    },
    { what: 'the Collaborate control' },
  );
  await tab.click(collaborate!.x, collaborate!.y);
}

/** Waits until `count` badges say saved; fails at once with the extension's notice if it refused. */
export async function untilBound(tab: Tab, count = 1): Promise<void> {
  let last: Awaited<ReturnType<typeof tandemUi>> | null = null;
  await waitFor(
    async () => {
      last = await tandemUi(tab);
      return last.badges.filter((b) => b === 'saved').length >= count;
    },
    { what: 'the editor to be bound and saved', timeoutMs: 20_000 },
  ).catch(async (error: unknown) => {
    const page = await tab.evaluate(() => ({ url: location.href, ui: document.querySelector('[data-tandem-ui]') !== null }), null).catch(() => null);
    throw new Error(`not bound: Tandem's UI shows ${JSON.stringify(last)} on ${JSON.stringify(page)}`, { cause: error });
  });
}

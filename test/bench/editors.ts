/**
 * Framework editors in Chromium, one row per adapted editor: the cost of a keystroke in the
 * content script and in the page-world adapter (p50/p99), the cost of applying a remote
 * keystroke through the adapter, and keystroke-to-remote-editor latency (A's keydown to the
 * change in B's editor model), two users through one server.
 */
import type { Page } from 'playwright-core';
import type { ChromiumUser } from '../e2e/browsers';
import { clickCollaborate, playwrightTab, select, text, untilBound, waitReady } from '../e2e/editors/driver';
import { EDITOR_PAGES, startEditorPages } from '../e2e/editors/pages';
import { editLinkToPage } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';
import { summary } from './stats';

export interface EditorBenchRow {
  editor: string;
  contentScript: ReturnType<typeof summary>;
  adapter: ReturnType<typeof summary>;
  remoteApply: ReturnType<typeof summary>;
  latency: ReturnType<typeof summary>;
}

/** The measures named `name` in every frame of the page (TinyMCE types in its iframe). */
const durations = async (page: Page, name: string): Promise<number[]> =>
  (await Promise.all(page.frames().map((f) => f.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name).catch(() => [] as number[])))).flat();

export async function runEditorsBench(a: ChromiumUser, b: ChromiumUser, httpUrl: string, token: string, options: { quick: boolean; log: (m: string) => void }): Promise<EditorBenchRow[]> {
  const pages = await startEditorPages();
  const rows: EditorBenchRow[] = [];
  try {
    for (const editor of EDITOR_PAGES) {
      options.log(`editor: ${editor}`);
      const url = `${pages.url}/${editor}.html`;
      const pageA = await a.page(url);
      const A = playwrightTab(pageA);
      await waitReady(A);
      await pageA.evaluate(() => document.documentElement.setAttribute('data-tandem-measure', ''));
      await select(A, 'shared', 0);
      await clickCollaborate(A);
      await untilBound(A);
      const link = await editLinkToPage({ httpUrl }, token, url);
      const landing = await b.page(link.url);
      const opened = b.context.waitForEvent('page', (p) => p.url() === url);
      await landing.locator('#tandem-open-origin').click();
      const pageB = await opened;
      await landing.close();
      const B = playwrightTab(pageB);
      await waitReady(B);
      await untilBound(B);
      const base = await text(A, 'shared');
      await waitFor(async () => (await text(B, 'shared')) === base, { what: `B's ${editor} to load` });
      await pageB.evaluate(() => document.documentElement.setAttribute('data-tandem-measure', ''));
      await pageA.evaluate(() => {
        const w = window as unknown as { presses: number[] };
        w.presses = [];
        // Keys go to the editor's own frame where it has one (TinyMCE): listen there too, on its clock.
        // (No named functions in here: tsx would wrap them in a helper the page lacks.)
        const targets: Window[] = [window];
        for (const frame of document.querySelectorAll('iframe')) if (frame.contentWindow) targets.push(frame.contentWindow);
        for (const target of targets) target.addEventListener('keydown', (e) => w.presses.push(target.performance.timeOrigin + e.timeStamp), true);
      });
      await select(A, 'shared', base.indexOf('\n'));
      const keystrokes = options.quick ? 100 : 400;
      const warmUp = 20;
      for (let i = 0; i < keystrokes; i++) {
        if (i === warmUp) for (const p of [pageA, pageB]) for (const f of p.frames()) await f.evaluate(() => performance.clearMeasures()).catch(() => undefined);
        await pageA.keyboard.press('x');
        if (i % 5 === 4) await pageA.waitForTimeout(40); // a typist's pace, so latency is not queueing
      }
      await waitFor(async () => (await text(B, 'shared')).length === base.length + keystrokes, { what: `B to get every keystroke in ${editor}`, timeoutMs: 60_000 });
      const presses = await pageA.evaluate(() => (window as unknown as { presses: number[] }).presses);
      const arrivals = await pageB.evaluate(() =>
        performance
          .getEntriesByName('tandem:adapter-remote')
          .map((e) => ({ t: performance.timeOrigin + e.startTime + e.duration, length: ((e as PerformanceMeasure).detail as { length: number }).length })),
      );
      const latency: number[] = [];
      for (let i = warmUp; i < presses.length; i++) {
        const arrival = arrivals.find((x) => x.length >= base.length + i + 1);
        if (arrival) latency.push(arrival.t - presses[i]!);
      }
      rows.push({
        editor,
        contentScript: summary(await durations(pageA, 'tandem:local-edit')),
        adapter: summary(await durations(pageA, 'tandem:adapter-local')),
        remoteApply: summary(await durations(pageB, 'tandem:adapter-remote')),
        latency: summary(latency),
      });
      await pageA.close();
      await pageB.close();
    }
  } finally {
    await pages.close();
  }
  return rows;
}

export function editorsTable(rows: EditorBenchRow[]): string {
  const f = (s: ReturnType<typeof summary>): string => `${s.p50} / ${s.p99}`;
  return [
    '| editor | keystroke, content script (p50 / p99 ms) | keystroke, adapter (p50 / p99 ms) | remote keystroke applied by the adapter (p50 / p99 ms) | keystroke to remote editor (p50 / p99 ms) |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.editor} | ${f(r.contentScript)} | ${f(r.adapter)} | ${f(r.remoteApply)} | ${f(r.latency)} |`),
  ].join('\n');
}

/**
 * Extension benchmarks in Chromium: per-keystroke cost in a 100 KB textarea (content script and
 * background, p50/p99), keystroke-to-remote-field latency through one server, and the cost on
 * pages that never bind a field (bytes injected, detector time at load).
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROME_BUILD, ChromiumUser, chromiumAvailable, collaborate, openWhereWritten, startPageServer } from '../e2e/browsers';
import { spawnServer } from '../helpers/server-process';
import { signUp } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';
import { editorsTable, runEditorsBench, type EditorBenchRow } from './editors';
import { summary } from './stats';

export interface ExtensionResult {
  keystroke: { contentScript: ReturnType<typeof summary>; background: ReturnType<typeof summary>; textareaKiB: number };
  remoteApply: ReturnType<typeof summary>;
  keystrokeToRemoteField: ReturnType<typeof summary>;
  idlePage: { injectedBytes: number; detector: ReturnType<typeof summary> };
  /** A row per adapted framework editor (./editors.ts). */
  editors: EditorBenchRow[];
}

const measures = (page: Page, name: string): Promise<number[]> => page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name);

export async function runExtensionBench(options: { quick: boolean; log: (m: string) => void }): Promise<ExtensionResult | null> {
  if (!chromiumAvailable()) {
    options.log('skipped: needs /usr/bin/chromium and the extension build (npm run build)');
    return null;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-bench-ext-'));
  const server = await spawnServer({ TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10' });
  const pages = await startPageServer();
  const users: ChromiumUser[] = [];
  try {
    const tokens = new Map<ChromiumUser, string>();
    const user = async (): Promise<ChromiumUser> => {
      const email = `bench-${Math.random().toString(36).slice(2)}@example.test`;
      const { token } = await signUp(server.httpUrl, email, 'correct horse battery');
      const u = await ChromiumUser.launch();
      users.push(u);
      await u.useServer(server.httpUrl);
      await u.signIn(server.httpUrl, email, 'correct horse battery');
      tokens.set(u, token);
      return u;
    };
    const a = await user();
    const b = await user();

    options.log('binding a 100 KB textarea');
    const pageA = await a.page(`${pages.url}/measure.html`);
    const base = 'All work and no play makes Jack a dull boy. '.repeat(Math.ceil(102_400 / 44)).slice(0, 102_400);
    await pageA.fill('#big', base);
    await collaborate(pageA, '#big');
    const [link] = await a.popupLinks();
    const pageB = await openWhereWritten(b, link!);
    await waitFor(async () => (await pageB.locator('#big').inputValue()).length === base.length, { what: 'B to load the text', timeoutMs: 30_000 });
    await pageB.evaluate(() => document.documentElement.setAttribute('data-tandem-measure', ''));

    // Keystrokes: real key presses in the middle of the text.
    options.log('typing');
    await a.worker.evaluate(() => {
      (globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings = [];
    });
    await pageB.evaluate(() => {
      const w = window as unknown as { arrivals: { t: number; len: number }[] };
      w.arrivals = [];
      document.getElementById('big')!.addEventListener('input', (e) => {
        w.arrivals.push({ t: performance.timeOrigin + e.timeStamp, len: (e.target as HTMLTextAreaElement).value.length });
      });
    });
    await pageA.evaluate(() => {
      const w = window as unknown as { presses: number[] };
      w.presses = [];
      document.getElementById('big')!.addEventListener('keydown', (e) => w.presses.push(performance.timeOrigin + e.timeStamp));
    });
    await pageA.locator('#big').evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(51_200, 51_200));
    const keystrokes = options.quick ? 300 : 1_000;
    const warmUp = 50; // JIT and wasm warm-up: not counted
    for (let i = 0; i < keystrokes; i++) {
      if (i === warmUp) {
        await a.worker.evaluate(() => ((globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings = []));
        await pageA.evaluate(() => performance.clearMeasures());
        await pageB.evaluate(() => performance.clearMeasures());
      }
      await pageA.keyboard.press('x');
      if (i % 5 === 4) await pageA.waitForTimeout(40); // a typist's pace, so latency is not queueing
    }
    await waitFor(async () => (await pageB.locator('#big').inputValue()).length === base.length + keystrokes, { what: 'B to get every keystroke', timeoutMs: 60_000 });
    const presses = await pageA.evaluate(() => (window as unknown as { presses: number[] }).presses);
    const arrivals = await pageB.evaluate(() => (window as unknown as { arrivals: { t: number; len: number }[] }).arrivals);
    const latency: number[] = [];
    for (let i = warmUp; i < presses.length; i++) {
      const arrival = arrivals.find((x) => x.len >= base.length + i + 1);
      if (arrival) latency.push(arrival.t - presses[i]!);
    }
    const contentScript = await measures(pageA, 'tandem:local-edit');
    const remoteApply = await measures(pageB, 'tandem:remote-edit');
    const background = await a.worker.evaluate(() => (globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings ?? []);

    // A page with no field: what every page pays.
    options.log('idle pages');
    const detector: number[] = [];
    const blank = await a.page(`${pages.url}/blank.html`);
    for (let i = 0; i < (options.quick ? 10 : 30); i++) {
      await blank.reload();
      const d = await waitFor(async () => (await measures(blank, 'tandem:detector'))[0], { what: 'the detector to run' });
      detector.push(d);
    }
    const editors = await runEditorsBench(a, b, server.httpUrl, tokens.get(a)!, options);
    return {
      editors,
      keystroke: { contentScript: summary(contentScript), background: summary(background), textareaKiB: 100 },
      remoteApply: summary(remoteApply),
      keystrokeToRemoteField: summary(latency),
      idlePage: { injectedBytes: statSync(join(CHROME_BUILD, 'content-scripts/content.js')).size, detector: summary(detector) },
    };
  } finally {
    for (const u of users) await u.close();
    await pages.close();
    server.child.kill('SIGTERM');
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function extensionTable(r: ExtensionResult): string {
  const rows: [string, string, string][] = [
    ['keystroke in a 100 KB textarea, content script (p50 / p99)', '< 1 ms p99', `${r.keystroke.contentScript.p50} / ${r.keystroke.contentScript.p99} ms (n=${r.keystroke.contentScript.n})`],
    ['keystroke in a 100 KB textarea, background (p50 / p99)', '< 1 ms p99', `${r.keystroke.background.p50} / ${r.keystroke.background.p99} ms (n=${r.keystroke.background.n})`],
    ['remote edit applied to a 100 KB textarea (p50 / p99)', '', `${r.remoteApply.p50} / ${r.remoteApply.p99} ms`],
    ['keystroke to remote field, one server (p50 / p99)', '', `${r.keystrokeToRemoteField.p50} / ${r.keystrokeToRemoteField.p99} ms`],
    ['injected into a page with no bound field', 'a few KB', `${(r.idlePage.injectedBytes / 1024).toFixed(1)} KB`],
    ['detector run time at page load (p50 / p99)', '', `${r.idlePage.detector.p50} / ${r.idlePage.detector.p99} ms`],
  ];
  return [
    '| figure | target | Chromium |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    'Framework editors (keystrokes typed into the middle of a two-line document):',
    '',
    editorsTable(r.editors),
  ].join('\n');
}

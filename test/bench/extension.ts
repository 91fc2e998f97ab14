/**
 * Extension benchmarks in Chromium: per-keystroke cost in a 100 KB textarea (content script and
 * background, p50/p99), keystroke-to-remote-field latency through one server, and the cost on
 * pages that never bind a field (bytes injected, detector time at load).
 */
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROME_BUILD, ChromiumUser, chromiumAvailable, collaborate, openWhereWritten, startPageServer } from '../e2e/browsers';
import { spawnServer, type ServerProcess } from '../helpers/server-process';
import { signUp } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';
import { editorsTable, runEditorsBench, type EditorBenchRow } from './editors';
import { summary } from './stats';

/** One textarea's figures: A types real keys into its middle, B's copy follows. */
export interface TextareaResult {
  kib: number;
  keystroke: { contentScript: ReturnType<typeof summary>; background: ReturnType<typeof summary> };
  remoteApply: ReturnType<typeof summary>;
  keystrokeToRemoteField: ReturnType<typeof summary>;
  /** The same keystrokes hop by hop (shared/trace.ts): where the time goes. */
  hops: { hop: string; ms: ReturnType<typeof summary> }[];
  /** Key down to the edit in the same textarea, not bound: the browser's own share of the first hop. */
  unboundKeyToEdit: ReturnType<typeof summary>;
}

export interface ExtensionResult {
  /** A 100 KB textarea (the per-keystroke cost targets), then a 2 KB one (a comment box). */
  textareas: TextareaResult[];
  idlePage: { injectedBytes: number; detector: ReturnType<typeof summary> };
  /** A row per adapted framework editor (./editors.ts). */
  editors: EditorBenchRow[];
}

const measures = (page: Page, name: string): Promise<number[]> => page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name);

/** A hop mark (shared/trace.ts): when (ms since the epoch, comparable across processes) and which keystroke (text length, or -1). */
type Mark = { at: number; key: number };
const firstWithKey = (marks: readonly Mark[], key: number): number | undefined => marks.find((m) => m.key >= key)?.at;
const firstAfter = (marks: readonly Mark[], at: number): number | undefined => marks.find((m) => m.at >= at)?.at;
const lastBefore = (marks: readonly Mark[], at: number): number | undefined => marks.findLast((m) => m.at <= at)?.at;

/**
 * Splits each keystroke's way to the other field at the marks it passed. `presses[i]` made the
 * text `base + i + 1` long; every list is in time order.
 */
export function hopBreakdown(
  base: number,
  from: number,
  presses: readonly number[],
  arrivals: readonly { t: number; len: number }[],
  a: { page: Record<string, Mark[]>; worker: Record<string, Mark[]> },
  b: { page: Record<string, Mark[]>; worker: Record<string, Mark[]> },
  server: Record<string, Mark[]>,
): { hop: string; ms: ReturnType<typeof summary> }[] {
  const names = [
    'A: key down → content script has the edit',
    'A: content script → background',
    'A: background commit → socket send',
    'A socket → server (network)',
    'server: frame in → relay out',
    'server → B socket (network)',
    'B: socket receive → import and event done',
    'B: background → content script',
    'B: content script writes the field',
  ];
  const spans: number[][] = names.map(() => []);
  for (let i = from; i < presses.length; i++) {
    const key = base + i + 1;
    const arrival = arrivals.find((x) => x.len >= key)?.t;
    const input = firstWithKey(a.page['field-input'] ?? [], key);
    const edit = firstWithKey(a.worker['background-edit'] ?? [], key);
    const imported = firstWithKey(b.worker['background-import'] ?? [], key);
    const received = firstWithKey(b.page['field-receive'] ?? [], key);
    if (arrival === undefined || input === undefined || edit === undefined || imported === undefined || received === undefined) continue;
    const sent = firstAfter(a.worker['socket-send'] ?? [], edit);
    const socketIn = lastBefore(b.worker['socket-receive'] ?? [], imported);
    if (sent === undefined || socketIn === undefined) continue;
    const serverIn = firstAfter(server['server-receive'] ?? [], sent);
    const serverOut = serverIn === undefined ? undefined : firstAfter(server['server-send'] ?? [], serverIn);
    if (serverOut === undefined || serverIn === undefined) continue;
    const points = [presses[i]!, input, edit, sent, serverIn, serverOut, socketIn, imported, received, arrival];
    for (let h = 0; h < names.length; h++) spans[h]!.push(points[h + 1]! - points[h]!);
  }
  return names.map((hop, h) => ({ hop, ms: summary(spans[h]!) }));
}

/** One textarea of `kb` KB bound by A and opened by B; A types into its middle. */
async function textareaRun(
  a: ChromiumUser,
  b: ChromiumUser,
  url: string,
  kb: number,
  server: ServerProcess,
  hopsFile: string,
  options: { quick: boolean; log: (m: string) => void },
): Promise<TextareaResult> {
  options.log(`binding a ${kb} KB textarea`);
  const pageA = await a.page(url);
  const base = 'All work and no play makes Jack a dull boy. '.repeat(Math.ceil((kb * 1024) / 44)).slice(0, kb * 1024);
  const middle = Math.floor(base.length / 2);
  await pageA.fill('#big', base);
  // The browser's own time from a key press to the edit in the same 100 KB textarea, unbound:
  // what the first hop below costs without Tandem.
  await pageA.evaluate(() => {
    const w = window as unknown as { unbound: number[]; down: number };
    w.unbound = [];
    const big = document.getElementById('big')!;
    big.addEventListener('keydown', (e) => (w.down = performance.timeOrigin + e.timeStamp));
    big.addEventListener('input', () => w.unbound.push(performance.timeOrigin + performance.now() - w.down));
  });
  await pageA.locator('#big').evaluate((el: HTMLTextAreaElement, at) => el.setSelectionRange(at, at), middle);
  for (let i = 0; i < 150; i++) {
    await pageA.keyboard.press('x');
    if (i % 5 === 4) await pageA.waitForTimeout(40);
  }
  const unboundKeyToEdit = (await pageA.evaluate(() => (window as unknown as { unbound: number[] }).unbound)).slice(50);
  await pageA.reload();
  await pageA.fill('#big', base);
  await collaborate(pageA, '#big');
  const [link] = await a.popupLinks();
  const pageB = await openWhereWritten(b, link!);
  await waitFor(async () => (await pageB.locator('#big').inputValue()).length === base.length, { what: 'B to load the text', timeoutMs: 30_000 });
  await pageB.evaluate(() => document.documentElement.setAttribute('data-tandem-measure', ''));
  for (const u of [a, b]) await u.worker.evaluate(() => ((globalThis as { __tandemMeasure?: boolean }).__tandemMeasure = true));

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
  await pageA.locator('#big').evaluate((el: HTMLTextAreaElement, at) => el.setSelectionRange(at, at), middle);
  const keystrokes = options.quick ? 300 : 1_000;
  const warmUp = 50; // JIT and wasm warm-up: not counted
  for (let i = 0; i < keystrokes; i++) {
    if (i === warmUp) {
      await a.worker.evaluate(() => ((globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings = []));
      await pageA.evaluate(() => performance.clearMeasures());
      await pageB.evaluate(() => performance.clearMeasures());
      for (const target of [pageA, pageB]) await target.evaluate(() => performance.clearMarks());
      for (const target of [a.worker, b.worker]) await target.evaluate(() => performance.clearMarks());
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
  // Read in the page or worker itself (a function evaluated there: no closures over this file).
  const read = (names: string[]): Record<string, Mark[]> =>
    Object.fromEntries(names.map((n) => [n, performance.getEntriesByName(`tandem:hop:${n}`).map((e) => ({ at: performance.timeOrigin + e.startTime, key: (e as PerformanceMark).detail as number }))]));
  const marks = (target: Page | ChromiumUser['worker'], names: string[]): Promise<Record<string, Mark[]>> => ('keyboard' in target ? target.evaluate(read, names) : target.evaluate(read, names));
  // The server's marks: written on SIGUSR2 (server/main.ts).
  await rm(hopsFile, { force: true });
  server.child.kill('SIGUSR2');
  const serverMarks = await waitFor(async () => JSON.parse(await readFile(hopsFile, 'utf8').catch(() => 'null')) as { hop: string; at: number }[] | null, {
    what: 'the server to write its hop marks',
  });
  const serverHops: Record<string, Mark[]> = {};
  for (const m of serverMarks) (serverHops[m.hop] ??= []).push({ at: m.at, key: -1 });
  const hops = hopBreakdown(
    base.length,
    warmUp,
    presses,
    arrivals,
    { page: await marks(pageA, ['field-input']), worker: await marks(a.worker, ['background-edit', 'socket-send']) },
    { page: await marks(pageB, ['field-receive']), worker: await marks(b.worker, ['background-import', 'socket-receive']) },
    serverHops,
  );

  await pageA.close();
  await pageB.close();
  return {
    kib: kb,
    keystroke: { contentScript: summary(contentScript), background: summary(background) },
    remoteApply: summary(remoteApply),
    keystrokeToRemoteField: summary(latency),
    hops,
    unboundKeyToEdit: summary(unboundKeyToEdit),
  };
}

export async function runExtensionBench(options: { quick: boolean; editors?: boolean; log: (m: string) => void }): Promise<ExtensionResult | null> {
  if (!chromiumAvailable()) {
    options.log('skipped: needs /usr/bin/chromium and the extension build (npm run build)');
    return null;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'tandem-bench-ext-'));
  const hopsFile = join(dataDir, 'hops.json');
  const server = await spawnServer({ TANDEM_DATA_DIR: dataDir, TANDEM_PASSWORD_COST: '10', TANDEM_MEASURE_HOPS: hopsFile });
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

    const large = await textareaRun(a, b, `${pages.url}/measure.html`, 100, server, hopsFile, options);
    const small = await textareaRun(a, b, `${pages.url}/measure.html?small`, 2, server, hopsFile, options);

    // A page with no field: what every page pays.
    options.log('idle pages');
    const detector: number[] = [];
    const blank = await a.page(`${pages.url}/blank.html`);
    for (let i = 0; i < (options.quick ? 10 : 30); i++) {
      await blank.reload();
      const d = await waitFor(async () => (await measures(blank, 'tandem:detector'))[0], { what: 'the detector to run' });
      detector.push(d);
    }
    const editors = options.editors === false ? [] : await runEditorsBench(a, b, server.httpUrl, tokens.get(a)!, options);
    return {
      editors,
      textareas: [large, small],
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
  const f = (m: ReturnType<typeof summary>): string => `${m.p50} / ${m.p99} ms`;
  const [large] = r.textareas as [TextareaResult];
  const rows: [string, string, string][] = [
    ['keystroke in a 100 KB textarea, content script (p50 / p99)', '< 1 ms p99', `${f(large.keystroke.contentScript)} (n=${large.keystroke.contentScript.n})`],
    ['keystroke in a 100 KB textarea, background (p50 / p99)', '< 1 ms p99', `${f(large.keystroke.background)} (n=${large.keystroke.background.n})`],
    ['remote edit applied to a 100 KB textarea (p50 / p99)', '', f(large.remoteApply)],
    ...r.textareas.map((t): [string, string, string] => [`keystroke to remote field, ${t.kib} KB textarea, one server (p50 / p99)`, '16 / 50 ms', f(t.keystrokeToRemoteField)]),
    ['injected into a page with no bound field', 'a few KB', `${(r.idlePage.injectedBytes / 1024).toFixed(1)} KB`],
    ['detector run time at page load (p50 / p99)', '', f(r.idlePage.detector)],
  ];
  return [
    '| figure | target | Chromium |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    'The same keystrokes, hop by hop (p50 / p99 ms; shared/trace.ts marks, matched by the text length or by time):',
    '',
    `| hop | ${r.textareas.map((t) => `${t.kib} KB textarea`).join(' | ')} |`,
    `| --- | ${r.textareas.map(() => '---').join(' | ')} |`,
    ...large.hops.map((h, i) => `| ${h.hop} | ${r.textareas.map((t) => f(t.hops[i]!.ms)).join(' | ')} |`),
    `| (the first hop in the same textarea, not bound: the browser's own) | ${r.textareas.map((t) => f(t.unboundKeyToEdit)).join(' | ')} |`,
    '',
    'Framework editors (keystrokes typed into the middle of a two-line document):',
    '',
    editorsTable(r.editors),
  ].join('\n');
}

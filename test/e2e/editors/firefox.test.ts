/**
 * Framework editors in Firefox ESR (the MV2 build as a temporary add-on, over WebDriver BiDi):
 * every adapted editor through the shared scenario (./scenarios.ts), two people.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { waitFor } from '../../helpers/wait';
import type { TestDatabase } from '../../helpers/backends';
import { RestartableServer, e2eBackend, firefoxAvailable, signedInFirefoxUser, startPageServer, scenarioEnv } from '../harness';
import { puppeteerTab } from './driver';
import { EDITOR_PAGES, startEditorPages } from './pages';
import { crossingScenario } from './crossing';
import { unsupportedScenario } from './unsupported';
import { CODE_EDITORS, outOfThePage, ownUndoAndSwap, refusedEditor } from './code-editors';
import { RICH_EDITORS, editorScenario, type Person } from './scenarios';

describe.skipIf(!firefoxAvailable())('framework editors in Firefox ESR', () => {
  let db: TestDatabase;
  let server: RestartableServer;
  let pages: Awaited<ReturnType<typeof startEditorPages>>;
  let fieldPages: Awaited<ReturnType<typeof startPageServer>>;
  const browsers: Browser[] = [];
  let a: Person;
  let b: Person;

  /** TANDEM_E2E_DEBUG=1 prints the pages' console (the extension's warnings included). */
  const debug = (page: Page): Page => {
    if (process.env.TANDEM_E2E_DEBUG) page.on('console', (m) => console.log(`[${page.url()}] ${m.type()}: ${m.text()}`));
    return page;
  };

  async function person(): Promise<Person> {
    const { browser, token } = await signedInFirefoxUser(server, browsers);
    const me = (await (await fetch(`${server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { displayName: string; email: string } };
    return {
      token,
      name: me.user.displayName || me.user.email,
      async open(url) {
        const page = debug(await browser.newPage());
        await page.goto(url);
        return puppeteerTab(page);
      },
      async openShared(link, url) {
        const landing = await browser.newPage();
        await landing.goto(link);
        const opened = browser.waitForTarget((t) => t.url() === url);
        await landing.locator('#tandem-open-origin').click();
        const page = debug((await (await opened).page())!);
        await landing.close();
        return puppeteerTab(page);
      },
    };
  }

  beforeAll(async () => {
    db = await e2eBackend().create();
    server = await RestartableServer.start(db);
    pages = await startEditorPages();
    fieldPages = await startPageServer();
    a = await person();
    b = await person();
  });
  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await pages?.close();
    await fieldPages?.close();
    await server?.down();
    await db?.drop();
  });

  const env = scenarioEnv(() => server);

  it('editors without an adapter are refused with the reason; editors that fight make the binding stop, nothing lost', async () => {
    await unsupportedScenario(pages.url, a, env);
  });

  it('a document started in a textarea opens in every editor and back; marks stay in the editors', async () => {
    const [browserA, browserB] = browsers as [Browser, Browser];
    const url = `${fieldPages.url}/fields.html`;
    const pageA = await browserA.newPage();
    await pageA.goto(url);
    await pageA.type('#notes', 'Line one.\nLine two.');
    await pageA.locator('>>> [data-tandem=collaborate]').click();
    const { url: link } = await waitFor(() => env.linkFor(a.token, url).catch(() => null), { what: 'the document A started' });
    const value = (): Promise<string> => pageA.$eval('#notes', (el) => (el as HTMLTextAreaElement).value);
    await crossingScenario(
      pages.url,
      EDITOR_PAGES,
      RICH_EDITORS,
      {
        value,
        async append(text) {
          await pageA.focus('#notes');
          await pageA.keyboard.down('Control');
          await pageA.keyboard.press('End'); // the text's end: End stops where a wrapped line wraps
          await pageA.keyboard.up('Control');
          await pageA.keyboard.type(text);
        },
      },
      {
        ...b,
        async pick(at) {
          const landing = await browserB.newPage();
          await landing.goto(at);
          await landing.locator('#tandem-pick-field').click();
          await landing.close();
        },
      },
      link,
    );
    await pageA.close();
  });

  for (const kind of EDITOR_PAGES) {
    it(`${kind}: typing, two people, carets, undo while the other types${RICH_EDITORS.has(kind) ? ', bold' : ''}`, async () => {
      await editorScenario(kind, pages.url, a, b, env, { rich: RICH_EDITORS.has(kind) });
    });
  }
  for (const kind of CODE_EDITORS) {
    it(`${kind}: its own undo command is Tandem's; another document in it ends the binding`, async () => {
      await ownUndoAndSwap(kind, pages.url, a, b, env);
    });
  }
  it('CodeMirror 6 taken out of the page by a re-render while the other person types: their typing reaches it once it is back', async () => {
    await outOfThePage('codemirror6', pages.url, a, b, env);
  });
  it('code editors the page shows read-only are refused, their text untouched', async () => {
    for (const kind of ['codemirror6', 'codemirror5', 'ace']) await refusedEditor(pages.url, a, kind, 'the page shows it read-only', '?read-only');
  });
  it('Monaco bundled without its global API is refused, its text untouched', async () => {
    await refusedEditor(pages.url, a, 'monacoesm', 'without its global API');
  });
});

/**
 * Framework editors in Chromium with the built extension: every adapted editor through the
 * shared scenario (./scenarios.ts), two people in two browser profiles.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TestDatabase } from '../../helpers/backends';
import { type ChromiumUser, RestartableServer, chromiumAvailable, collaborate, e2eBackend, signedInChromiumUser, startPageServer, scenarioEnv } from '../harness';
import { playwrightTab } from './driver';
import { EDITOR_PAGES, startEditorPages } from './pages';
import { crossingScenario } from './crossing';
import { unsupportedScenario } from './unsupported';
import { CODE_EDITORS, outOfThePage, ownUndoAndSwap, refusedEditor } from './code-editors';
import { RICH_EDITORS, editorScenario, type Person } from './scenarios';

describe.skipIf(!chromiumAvailable())('framework editors in Chromium', () => {
  let db: TestDatabase;
  let server: RestartableServer;
  let pages: Awaited<ReturnType<typeof startEditorPages>>;
  let fieldPages: Awaited<ReturnType<typeof startPageServer>>;
  const users: ChromiumUser[] = [];
  let a: Person;
  let b: Person;

  /** TANDEM_E2E_DEBUG=1 prints the pages' console (the extension's warnings included). */
  const debug = (page: Page): Page => {
    if (process.env.TANDEM_E2E_DEBUG) page.on('console', (m) => console.log(`[${page.url()}] ${m.type()}: ${m.text()}`));
    return page;
  };

  async function person(): Promise<Person> {
    const { browser, token } = await signedInChromiumUser(server, users);
    const me = (await (await fetch(`${server.httpUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { displayName: string; email: string } };
    return {
      token,
      name: me.user.displayName || me.user.email,
      open: async (url) => playwrightTab(debug(await browser.page(url))),
      async openShared(link, url) {
        const landing = await browser.page(link);
        const opened = browser.context.waitForEvent('page', (p) => p.url() === url);
        await landing.locator('#tandem-open-origin').click();
        const page = debug(await opened);
        await landing.close();
        return playwrightTab(page);
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
    for (const u of users) await u.close();
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
    const pageA = await users[0]!.page(`${fieldPages.url}/fields.html`);
    await pageA.fill('#notes', 'Line one.\nLine two.');
    await collaborate(pageA, '#notes');
    const { url } = await env.linkFor(a.token, `${fieldPages.url}/fields.html`);
    const browserB = users[1]!;
    await crossingScenario(
      pages.url,
      EDITOR_PAGES,
      RICH_EDITORS,
      {
        value: () => pageA.locator('#notes').inputValue(),
        async append(text) {
          await pageA.locator('#notes').focus();
          await pageA.locator('#notes').press('Control+End'); // the text's end: End stops where a wrapped line wraps
          await pageA.keyboard.type(text);
        },
      },
      {
        ...b,
        async pick(link) {
          const landing = await browserB.page(link);
          await landing.locator('#tandem-pick-field').click();
          await landing.close();
        },
      },
      url,
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

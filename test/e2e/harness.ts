/**
 * End-to-end harness: a Tandem server in this process (restartable on the same port) on the
 * test database. Browsers and pages: ./browsers.ts. In CI a missing browser or build fails the
 * suite; elsewhere the suite is skipped.
 */
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createLogger } from '../../server/logger';
import { createTandemServer, type TandemServer } from '../../server/tandem-server';
import { backends, type TestDatabase } from '../helpers/backends';
import { editLinkToPage, signUp, testConfig, testLogLevel } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';
import { ChromiumUser, FIREFOX, FIREFOX_BUILD, startPageServer } from './browsers';

export * from './browsers';

/** The database for browser tests: real Postgres when configured (CI), else embedded. */
export function e2eBackend() {
  return backends.find((b) => b.name === 'postgres') ?? backends[0]!;
}

/** A Tandem server that can stop and start again on the same port (the extension keeps its address). */
export class RestartableServer {
  private server: TandemServer | null = null;
  port = 0;
  private constructor(private readonly db: TestDatabase) {}

  static async start(db: TestDatabase): Promise<RestartableServer> {
    const s = new RestartableServer(db);
    await s.up();
    return s;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const config = { ...testConfig(), port: this.port };
    this.server = await createTandemServer({ config, database: this.db.handle, log: createLogger(testLogLevel) });
    this.port = await this.server.listen();
  }

  async down(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }
}

export const PASSWORD = 'correct horse battery';

/** Runs in the page (either driver's `evaluate`): a new textarea holding `text` takes #notes's place under the same id, as a framework's re-render does. */
export function replaceNotesInPage(text: string): void {
  const fresh = document.createElement('textarea');
  fresh.id = 'notes';
  fresh.value = text;
  document.getElementById('notes')!.replaceWith(fresh);
}

/** A new account, signed in from a fresh Chromium profile whose extension uses `server`; the browser joins `users` (closed by the suite). */
export async function signedInChromiumUser(server: RestartableServer, users: ChromiumUser[]): Promise<{ browser: ChromiumUser; token: string }> {
  const email = `e2e-${Math.random().toString(36).slice(2)}@example.test`;
  const { token } = await signUp(server.httpUrl, email, PASSWORD);
  const browser = await ChromiumUser.launch();
  users.push(browser);
  await browser.useServer(server.httpUrl);
  await browser.signIn(server.httpUrl, email, PASSWORD);
  return { browser, token };
}

/**
 * A new account, signed in from a fresh Firefox (the MV2 build as a temporary add-on) whose
 * extension uses `server`; the browser joins `browsers` (closed by the suite). `profile`: a
 * profile folder to launch with (to launch it again later).
 */
export async function signedInFirefoxUser(server: RestartableServer, browsers: Browser[], options: { profile?: string } = {}): Promise<{ browser: Browser; token: string }> {
  const email = `ff-${Math.random().toString(36).slice(2)}@example.test`;
  const { token } = await signUp(server.httpUrl, email, PASSWORD);
  const browser = await launchFirefox(browsers, options.profile);
  const home = await browser.newPage();
  await home.goto(server.httpUrl);
  await home.locator('#tandem-use-server').click();
  await home.locator('>>> [data-tandem=confirm]').click();
  await waitFor(async () => (await home.$eval('#tandem-extension-status', (el) => el.textContent ?? '')).includes('uses this server'), { what: 'the extension to use the server' });
  await home.goto(`${server.httpUrl}/login`);
  await home.type('#email', email);
  await home.type('#password', PASSWORD);
  await Promise.all([home.waitForNavigation(), home.click('button[type=submit]')]);
  expect(new URL(home.url()).pathname).toBe('/account');
  await home.close();
  return { browser, token };
}

/** Firefox with the extension, on `profile` when given; it joins `browsers`. */
export async function launchFirefox(browsers: Browser[], profile?: string): Promise<Browser> {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, ...(profile ? { userDataDir: profile } : {}) });
  browsers.push(browser);
  await browser.installExtension(FIREFOX_BUILD);
  return browser;
}

/** What a Chromium suite's tests share; set before its first test, torn down after its last. */
export interface ChromiumSuite {
  db: TestDatabase;
  server: RestartableServer;
  pages: Awaited<ReturnType<typeof startPageServer>>;
  /** Browsers launched by a test, closed after it. */
  users: ChromiumUser[];
  /** A new signed-in user in a fresh browser, closed after the test. */
  user(): Promise<{ browser: ChromiumUser; token: string }>;
}

/** Registers a Chromium suite's hooks (call it inside the `describe`): a server on the e2e database, the test pages. */
export function chromiumSuite(): ChromiumSuite {
  const users: ChromiumUser[] = [];
  const suite = { users, user: () => signedInChromiumUser(suite.server, users) } as ChromiumSuite;
  beforeAll(async () => {
    suite.db = await e2eBackend().create();
    suite.server = await RestartableServer.start(suite.db);
    suite.pages = await startPageServer();
  });
  afterAll(async () => {
    await suite.pages?.close();
    await suite.server?.down();
    await suite.db?.drop();
  });
  afterEach(async () => {
    for (const u of users.splice(0)) await u.close();
  });
  return suite;
}

/** The document id in a share link. */
export const docIdOf = (link: string): string => new URL(link).pathname.split('/').pop()!;

/** A document's text as the server stores it, read through the API as the holder of `token`. */
export async function storedText(server: RestartableServer, docId: string, token: string): Promise<string> {
  const res = await fetch(`${server.httpUrl}/api/documents/${docId}/text`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { text: string }).text;
}

/** What the editor scenarios (./editors/scenarios.ts) ask of the server (started later: `server()` reads it then), in either browser. */
export function scenarioEnv(server: () => RestartableServer) {
  return {
    linkFor: (token: string, url: string) => editLinkToPage(server(), token, url),
    storedText: (docId: string, token: string) => storedText(server(), docId, token),
    get wsUrl() {
      return `ws://127.0.0.1:${server().port}/sync`;
    },
  };
}

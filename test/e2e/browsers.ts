/**
 * Real browsers with the built extension, for tests and benchmarks: Debian's chromium through
 * playwright-core (Firefox lives in its own suite), and the pages they open. No vitest here.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';

export const ROOT = join(import.meta.dirname, '../..');
export const CHROME_BUILD = join(ROOT, 'extension/.output/chrome-mv3');
export const FIREFOX_BUILD = join(ROOT, 'extension/.output/firefox-mv2');
export const CHROMIUM = '/usr/bin/chromium';
export const FIREFOX = '/usr/bin/firefox-esr';

function available(binary: string, buildDir: string): boolean {
  const ok = existsSync(binary) && existsSync(join(buildDir, 'manifest.json'));
  if (!ok && process.env.CI) throw new Error(`CI needs ${binary} and the extension build in ${buildDir} (npm test builds it; .ci/run installs the browsers)`);
  return ok;
}
export const chromiumAvailable = (): boolean => available(CHROMIUM, CHROME_BUILD);
export const firefoxAvailable = (): boolean => available(FIREFOX, FIREFOX_BUILD);

/** Serves the test pages: plain fields, a React-controlled field, a strict-CSP page, an iframe, contenteditables. */
export async function startPageServer(): Promise<{ url: string; otherOriginUrl: string; close(): Promise<void> }> {
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, 'pages/react-field.tsx')],
    bundle: true,
    write: false,
    format: 'iife',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const reactScript = bundle.outputFiles[0]!.text;
  const overlayBundle = await build({ entryPoints: [join(import.meta.dirname, 'pages/presence-overlay.ts')], bundle: true, write: false, format: 'iife' });
  const pages: Record<string, { body: string; type?: string; headers?: Record<string, string> }> = {
    '/fields.html': {
      body: `<!doctype html><title>Fields</title><h1>Notes</h1>
<textarea id="notes" rows="6" cols="60"></textarea>
<p><input id="subject" type="text" size="60"></p>
<div id="react-root"></div><script src="/react.js"></script>
<p><textarea id="locked" rows="2" cols="60" readonly>Locked text</textarea></p>
<script>
  // #notes the way a form that reads on change keeps it (Vue's v-model.lazy): its model follows
  // change events, and a render puts the model back into the field unless the person is in it.
  const notes = document.getElementById('notes');
  window.notesModel = notes.value;
  notes.addEventListener('change', () => { window.notesModel = notes.value; });
  window.renderNotes = () => { if (document.activeElement !== notes) notes.value = window.notesModel; };
</script>`,
    },
    '/react.js': { body: reactScript, type: 'text/javascript' },
    '/strict.html': {
      body: `<!doctype html><title>Strict</title><textarea id="strict" rows="4" cols="60"></textarea>`,
      headers: { 'Content-Security-Policy': "default-src 'none'" },
    },
    '/frame.html': { body: `<!doctype html><title>Frame</title><p>Outer page</p><iframe id="inner" src="/inner.html" width="600" height="200"></iframe>` },
    // Benchmarks: the page asks our scripts to report their time (see field-binding.ts).
    '/measure.html': { body: `<!doctype html><html data-tandem-measure><title>Measure</title><textarea id="big" rows="20" cols="100"></textarea></html>` },
    '/blank.html': { body: `<!doctype html><html data-tandem-measure><title>Blank</title><p>No fields here.</p></html>` },
    '/shadow.html': {
      body: `<!doctype html><title>Shadow</title><div id="host"></div><script>document.getElementById('host').attachShadow({ mode: 'open' }).innerHTML = '<textarea id="shadowed" rows="4" cols="50"></textarea>';</script>`,
    },
    // A textarea inside a closed shadow root (the page keeps a handle for the test; Playwright cannot reach in).
    '/closed.html': {
      body: `<!doctype html><title>Closed</title><div id="host"></div><script>const root = document.getElementById('host').attachShadow({ mode: 'closed' }); root.innerHTML = '<textarea id="sealed" rows="4" cols="50"></textarea>'; window.sealed = root.querySelector('textarea');</script>`,
    },
    // Editors the TinyMCE/CKEditor way: a srcdoc iframe whose body is the editing host, and an about:blank one filled by script.
    '/framed-editors.html': {
      body: `<!doctype html><title>Framed editors</title><iframe id="srcdoc" srcdoc="<!doctype html><body contenteditable='true'><p>In a srcdoc frame</p></body>"></iframe><iframe id="blank"></iframe><script>const d = document.getElementById('blank').contentDocument; d.body.innerHTML = '<p>In an about:blank frame</p>'; d.body.contentEditable = 'true';</script>`,
    },
    // A page claiming to be a Tandem server (any page can carry the meta tag and the button).
    '/impostor.html': {
      body: `<!doctype html><html><head><meta name="tandem-server" content="1"><title>Free prizes</title></head><body><p id="tandem-extension-status"></p><button id="tandem-use-server" type="button">Claim your prize</button></body></html>`,
    },
    // Rich text: a contenteditable with formatting and a page's own node and listeners, and an empty one.
    '/rich.html': {
      body: `<!doctype html><title>Rich</title><h1>Rich notes</h1>
<div id="rich" contenteditable style="min-height:5em;border:1px solid #999;padding:4px"><p id="first">Hello world</p><p id="second">Second <span id="keep" class="note">paragraph</span></p></div>
<div id="blank" contenteditable style="min-height:3em;border:1px solid #999;padding:4px"></div>
<div id="plainonly" contenteditable="plaintext-only" style="min-height:3em;border:1px solid #999;padding:4px">Plain only</div>
<script>
  // The page's own view of its editor: the element, a node in it, and a listener on it.
  window.pageKeys = 0;
  window.pageRich = document.getElementById('rich');
  window.pageKeep = document.getElementById('keep');
  window.pageRich.addEventListener('keydown', () => window.pageKeys++);
  // What the page hears of collaborators' changes: an input event, as of any edit.
  window.pageRemoteInputs = 0;
  window.pageRich.addEventListener('input', (e) => { if (e.inputType === 'insertReplacementText') window.pageRemoteInputs++; });
</script>`,
    },
    // The presence overlay over a contenteditable with nested inline elements (offsets by text nodes).
    '/presence-rich.html': {
      body: `<!doctype html><title>Rich</title><div id="rich" contenteditable="true" style="width: 320px; font: 18px/1.6 serif; padding: 8px; border: 1px solid #999; caret-color: #ff0000">Hello <b>bold</b> and <i>italic <u>nested</u></i> words that wrap onto a second line of text.</div><script src="/presence-overlay.js"></script>`,
    },
    '/presence-overlay.js': { body: overlayBundle.outputFiles[0]!.text, type: 'text/javascript' },
    // A frame from the other origin (localhost for 127.0.0.1 and the other way round), after a srcdoc frame.
    '/cross-frame.html': {
      body: `<!doctype html><title>Cross frame</title><iframe id="first" srcdoc="<p>first</p>"></iframe><script>const f = document.createElement('iframe'); f.id = 'cross'; f.width = 600; f.src = location.protocol + '//' + (location.hostname === 'localhost' ? '127.0.0.1' : 'localhost') + ':' + location.port + '/inner.html'; document.body.append(f);</script>`,
    },
    // A field inside another one (a code block's textarea in a rich-text editor's island).
    '/nested.html': {
      body: `<!doctype html><title>Nested</title><div id="outer" contenteditable style="min-height:6em;border:1px solid #999;padding:4px"><p>Outer text</p><div contenteditable="false"><textarea id="inner" rows="3" cols="40">Inner text</textarea></div><p>More outer text</p></div>`,
    },
    '/inner.html': { body: `<!doctype html><title>Inner</title><textarea id="framed" rows="4" cols="50"></textarea>` },
  };
  const server: Server = createServer((req, res) => {
    const page = pages[new URL(req.url ?? '/', 'http://x').pathname];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': page.type ?? 'text/html; charset=utf-8', 'cache-control': 'no-store', ...page.headers });
    res.end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    // The same pages from another origin (another host name for the same address).
    otherOriginUrl: `http://localhost:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One Chromium user: a persistent profile with the extension loaded. */
export class ChromiumUser {
  private constructor(
    readonly context: BrowserContext,
    readonly worker: Worker,
    readonly extensionId: string,
    readonly profileDir: string,
  ) {}

  static async launch(profileDir?: string): Promise<ChromiumUser> {
    const dir = profileDir ?? (await mkdtemp(join(tmpdir(), 'tandem-chromium-')));
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        `--disable-extensions-except=${CHROME_BUILD}`,
        `--load-extension=${CHROME_BUILD}`,
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    return new ChromiumUser(context, worker, new URL(worker.url()).host, dir);
  }

  async page(url: string): Promise<Page> {
    const page = await this.context.newPage();
    await page.goto(url);
    return page;
  }

  /** On the server's home page, the extension offers to use that server: accept. */
  async useServer(httpUrl: string): Promise<void> {
    const page = await this.page(httpUrl);
    await page.locator('#tandem-use-server').click();
    await page.locator('[data-tandem=confirm]').click(); // confirmed in the extension's own UI
    await page.locator('#tandem-extension-status', { hasText: 'uses this server' }).waitFor();
    await page.close();
  }

  async signIn(httpUrl: string, email: string, password: string): Promise<void> {
    const page = await this.page(`${httpUrl}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(/\/account$/), page.click('button[type=submit]')]);
    await page.close();
  }

  /** The share links the popup shows for bound documents. */
  async popupLinks(): Promise<string[]> {
    const popup = await this.page(`chrome-extension://${this.extensionId}/popup.html`);
    const inputs = popup.locator('input[data-tandem=link]');
    await inputs.first().waitFor();
    const links = await inputs.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
    await popup.close();
    return links;
  }

  async close(removeProfile = true): Promise<void> {
    await this.context.close();
    if (removeProfile) await rm(this.profileDir, { recursive: true, force: true });
  }
}

/** Focuses a field and clicks the extension's "Collaborate" control next to it. */
export async function collaborate(page: Page, selector: string, frame?: string): Promise<void> {
  const scope = frame ? page.frameLocator(frame) : page;
  const saved = scope.locator('[data-tandem=badge][data-state=saved]');
  const before = await saved.count();
  await scope.locator(selector).click();
  await scope.locator('[data-tandem=collaborate]').click();
  await saved.nth(before).waitFor(); // this field's badge, not one bound earlier on the page
}

/** Opens a share link and takes "Open where it was written": resolves with the page that opened. */
export async function openWhereWritten(user: ChromiumUser, link: string): Promise<Page> {
  const landing = await user.page(link);
  const opened = user.context.waitForEvent('page');
  await landing.locator('#tandem-open-origin').click();
  const page = await opened;
  await page.waitForLoadState();
  await landing.close();
  return page;
}

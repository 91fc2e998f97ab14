/**
 * The document page (`/d/<id>#<share token>`) as someone without the extension opens it: what
 * a real browser transfers on the first visit (≤ 2 MB: the editor script and Loro's wasm,
 * compressed) and on a repeat visit after restarting the browser (≤ 50 KB: the hashed files come
 * from its cache without a request), and how the server serves those files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocument, createShareLink, signUp } from '../helpers/test-server';
import { waitFor } from '../helpers/wait';
import { CHROMIUM, ROOT, RestartableServer, e2eBackend } from './harness';
import type { TestDatabase } from '../helpers/backends';

const MANIFEST = join(ROOT, 'extension/.output/page-editor/manifest.json');
const available = existsSync(CHROMIUM) && existsSync(MANIFEST);
if (!available && process.env.CI) throw new Error(`CI needs ${CHROMIUM} and the page editor build (${MANIFEST}; npm test builds it)`);

const TEXT = 'A shared note, opened without the extension.';

/** Bytes one page load moved, as Chromium's network layer counts them (headers included). */
interface Transfer {
  http: number;
  /** Requests that went to the network, by path. */
  requests: string[];
  /** Bytes of WebSocket frames, both ways (the document itself, presence). */
  socket: number;
}

async function visit(profileDir: string, url: string): Promise<Transfer> {
  const context: BrowserContext = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const transfer: Transfer = { http: 0, requests: [], socket: 0 };
    const urls = new Map<string, string>();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
    cdp.on('Network.loadingFinished', (e) => {
      transfer.http += e.encodedDataLength;
      if (e.encodedDataLength > 0) transfer.requests.push(urls.get(e.requestId) ?? '?');
    });
    // Binary frames arrive base64-encoded: count their decoded size.
    const frame = (e: { response: { opcode: number; payloadData: string } }): void => {
      transfer.socket += e.response.opcode === 2 ? Buffer.from(e.response.payloadData, 'base64').length : Buffer.byteLength(e.response.payloadData);
    };
    cdp.on('Network.webSocketFrameReceived', frame);
    cdp.on('Network.webSocketFrameSent', frame);
    await page.goto(url);
    await waitFor(async () => (await page.locator('#tandem-editor').innerText()) === TEXT, { what: 'the page editor to show the document', timeoutMs: 30_000 });
    await page.locator('#tandem-editor[contenteditable=true]').waitFor();
    return transfer;
  } finally {
    await context.close();
  }
}

/** A raw GET (Node's fetch would decompress and hide the encoding). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!available)('the document page loads lean', () => {
  let db: TestDatabase;
  let server: RestartableServer;
  let link: string;

  beforeAll(async () => {
    db = await e2eBackend().create();
    server = await RestartableServer.start(db);
    const { token } = await signUp(server.httpUrl);
    const docId = await createDocument({ httpUrl: server.httpUrl, token }, { text: TEXT });
    link = (await createShareLink({ httpUrl: server.httpUrl, token }, docId, 'edit')).url;
  });
  afterAll(async () => {
    await server?.down();
    await db?.drop();
  });

  it('transfers at most 2 MB on the first visit and 50 KB on a repeat visit (Chromium)', async () => {
    const profile = await mkdtemp(join(tmpdir(), 'tandem-page-load-'));
    try {
      const first = await visit(profile, link);
      const again = await visit(profile, link);
      console.log(
        `document page, first visit: ${first.http} bytes over HTTP (${first.requests.join(', ')}), ${first.socket} on the socket; repeat visit: ${again.http} (${again.requests.join(', ')}), ${again.socket} on the socket`,
      );
      expect(
        first.requests.some((p) => /^\/assets\/loro-[\w-]+\.wasm$/.test(p)),
        'the wasm is its own file',
      ).toBe(true);
      expect(first.http + first.socket).toBeLessThanOrEqual(2 * 1024 * 1024);
      // The repeat visit fetches the page itself; script and wasm come from the cache unasked.
      expect(again.requests.filter((p) => p.startsWith('/assets/'))).toEqual([]);
      expect(again.http + again.socket).toBeLessThanOrEqual(50 * 1024);
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('serves hashed files precompressed, cached for a year, with ETags; nothing else under /assets/', async () => {
    const page = await (await fetch(link)).text();
    const script = /<script type="module" src="(\/assets\/editor-[\w-]+\.js)">/.exec(page)?.[1];
    expect(script).toBeDefined();
    const url = `${server.httpUrl}${script}`;
    const br = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br).toMatchObject({ status: 200, headers: { 'content-encoding': 'br', 'cache-control': 'public, max-age=31536000, immutable', vary: 'Accept-Encoding' } });
    const gzip = await get(url, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    const plain = await get(url, {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(br.bytes).toBeLessThan(plain.bytes / 3);
    expect(br.headers.etag).not.toBe(gzip.headers.etag);
    expect((await get(url, { 'accept-encoding': 'br', 'if-none-match': String(br.headers.etag) })).status).toBe(304);
    const wasm = /"(\/assets\/loro-[\w-]+\.wasm)"/.exec(await (await fetch(url)).text())?.[1];
    expect(wasm).toBeDefined();
    expect((await get(`${server.httpUrl}${wasm}`, { 'accept-encoding': 'br' })).headers['content-type']).toBe('application/wasm');
    for (const path of ['/assets/manifest.json', '/assets/editor.js', '/assets/..%2F..%2Fpackage.json', `${script}.br`]) {
      expect((await get(`${server.httpUrl}${path}`, {})).status, path).toBe(404);
    }
  });
});

/**
 * Pages built from each editor's own npm package (bundled on first request), each with two
 * instances: `#plain`, never bound (what the keys give without Tandem), and `#shared`, the one
 * the tests bind. The page exposes the editor's model to the tests (./pages/expose.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { build } from 'esbuild';

export const EDITOR_PAGES = ['codemirror6', 'prosemirror', 'tiptap', 'quill', 'tinymce', 'ckeditor5', 'lexical', 'codemirror5', 'monaco', 'ace', 'slate', 'trix'] as const;
export type EditorPage = (typeof EDITOR_PAGES)[number];
/** Pages Tandem must not bind: editors it has no adapter for or cannot reach (Monaco bundled without its global API), and hand-made editors that fight. */
export const UNSUPPORTED_PAGES = ['draft', 'fights', 'monacoesm'] as const;
const ALL_PAGES: readonly string[] = [...EDITOR_PAGES, ...UNSUPPORTED_PAGES];

const HERE = import.meta.dirname;
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.html': 'text/html' };

async function bundle(name: string): Promise<{ js: string; css: string }> {
  const tsx = join(HERE, 'pages', `${name}.tsx`);
  const result = await build({
    entryPoints: [existsSync(tsx) ? tsx : join(HERE, 'pages', `${name}.ts`)],
    bundle: true,
    write: false,
    format: 'iife',
    minify: true,
    outdir: '/out',
    loader: { '.svg': 'text', '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    jsx: 'automatic',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  return { js, css };
}

/** Editors a page loads as their own script first, the way sites embed them (they set a global). */
const VENDOR_SCRIPTS: Record<string, string> = { tinymce: '/vendor/tinymce/tinymce.min.js' };
const NODE_MODULES = join(HERE, '../../../node_modules');

const page = (name: string): string => `<!doctype html><html><head><meta charset="utf-8"><title>${name}</title>
${VENDOR_SCRIPTS[name] ? `<script src="${VENDOR_SCRIPTS[name]}"></script>` : ''}
<link rel="stylesheet" href="/${name}.css">
<style>body { font: 16px/1.4 sans-serif; margin: 24px; } .slot { width: 640px; min-height: 120px; border: 1px solid #999; margin: 8px 0 32px; }</style></head>
<body><h2>Unbound</h2><div id="plain" class="slot"></div><h2>Shared</h2><div id="shared" class="slot"></div>
<script src="/${name}.js"></script></body></html>`;

export async function startEditorPages(): Promise<{ url: string; close(): Promise<void> }> {
  const built = new Map<string, Promise<{ js: string; css: string }>>();
  const get = (name: string): Promise<{ js: string; css: string }> => {
    let b = built.get(name);
    if (!b) {
      b = bundle(name);
      built.set(name, b);
    }
    return b;
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // Files of packages pages load as sites do (TinyMCE's script; Monaco's AMD build, as a CDN serves it).
    const vendor = /^\/vendor\/(tinymce|monaco-editor)\/([\w./-]+)$/.exec(path);
    if (vendor && !vendor[2]!.includes('..')) {
      const file = join(NODE_MODULES, vendor[1]!, vendor[2]!);
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
        () => res.writeHead(404).end(),
      );
      return;
    }
    const match = /^\/(\w+)(\.html|\.js|\.css)$/.exec(path);
    if (!match || !ALL_PAGES.includes(match[1]!)) {
      res.writeHead(404).end();
      return;
    }
    const [, name, ext] = match as unknown as [string, string, string];
    if (ext === '.html') {
      // As strict as sites that embed these editors make it: no inline or foreign script, no eval.
      // Tandem's adapters must get into the page's world all the same. (Editors need inline styles.)
      const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'";
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': csp }).end(page(name));
      return;
    }
    get(name).then(
      ({ js, css }) => res.writeHead(200, { 'content-type': ext === '.js' ? 'text/javascript' : 'text/css', 'cache-control': 'no-store' }).end(ext === '.js' ? js : css),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

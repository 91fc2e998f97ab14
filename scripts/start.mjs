// @ts-check
/**
 * `npm start` (and `npm run admin`): builds what is missing or older than its sources, then
 * runs the built server (dist/main.js) or admin CLI in this process.
 *
 * Needs only production dependencies: the server and the document page's editor are built
 * with esbuild (a dependency). The extension packages need WXT (a dev dependency): built here
 * when it is installed, otherwise the server runs without offering them (its home page says so).
 * Production: `npm ci && npm run build`, then `npm prune --omit=dev` and `npm start`; or just
 * `npm ci --omit=dev && npm start` without the extension packages.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const [what = 'server', ...args] = process.argv.slice(2);
if (what !== 'server' && what !== 'admin') throw new Error(`usage: node scripts/start.mjs [server|admin] [args]`);

/** Newest modification time under `paths` (files or folders), skipping dot folders and node_modules. */
function newest(/** @type {string[]} */ paths) {
  let latest = 0;
  for (const path of paths.map((p) => join(root, p))) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (!stat.isDirectory()) {
      latest = Math.max(latest, stat.mtimeMs);
      continue;
    }
    for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
      const full = join(entry.parentPath, entry.name);
      if (/[\\/](\.|node_modules)/.test(full.slice(root.length - 1))) continue;
      if (entry.isFile()) latest = Math.max(latest, statSync(full).mtimeMs);
    }
  }
  return latest;
}

const mtime = (/** @type {string} */ path) => (existsSync(join(root, path)) ? statSync(join(root, path)).mtimeMs : 0);
const log = (/** @type {string} */ line) => process.stderr.write(`${line}\n`);
const SOURCES = ['shared', 'package.json', 'package-lock.json'];

if (what === 'server') {
  const hasWxt = (() => {
    try {
      createRequire(join(root, 'package.json')).resolve('wxt/package.json');
      return true;
    } catch {
      return false; // npm ci --omit=dev
    }
  })();
  const zips = existsSync(join(root, 'extension/.output')) ? readdirSync(join(root, 'extension/.output')).filter((f) => /-(chrome|firefox)\.zip$/.test(f)) : [];
  const oldestZip = zips.length < 2 ? 0 : Math.min(...zips.map((f) => mtime(`extension/.output/${f}`)));
  if (oldestZip < newest(['extension', ...SOURCES])) {
    if (hasWxt) {
      log('Building the extension (Chrome and Firefox)…');
      execFileSync('npm', ['run', 'build:extension', '--silent'], { cwd: root, stdio: 'inherit' });
    } else if (zips.length === 0) {
      log('The extension packages are not built (that needs the dev dependencies: npm install && npm run build); the server runs without offering them.');
    }
  }
  if (mtime('extension/.output/page-editor/manifest.json') < newest(['extension/page-editor', 'extension/lib', 'extension/scripts/build-page-editor.mjs', ...SOURCES])) {
    log('Building the document page editor…');
    const { buildPageEditor } = await import('../extension/scripts/build-page-editor.mjs');
    await buildPageEditor();
  }
}

if (mtime('dist/main.js') < newest(['server', 'db', 'scripts/build-server.mjs', ...SOURCES])) {
  log('Building the server…');
  const { buildServer } = await import('./build-server.mjs');
  await buildServer();
}

const entry = join(root, 'dist', what === 'server' ? 'main.js' : 'admin-cli.js');
// The built module reads its arguments from process.argv, as if node had started it.
process.argv = [process.argv[0] ?? process.execPath, entry, ...args];
await import(pathToFileURL(entry).href);

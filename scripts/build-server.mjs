// @ts-check
/**
 * `npm run build:server`: the server as JavaScript in dist/, so production runs `node` on
 * plain files (no TypeScript loader, no dev dependencies). One ESM bundle per entry point
 * (main, admin-cli, and every `*-worker.ts`, which db/ts-worker.ts starts from here when it
 * runs built), packages left as imports: they must be `dependencies` (checked below).
 *
 * dist/ sits one level below the root, like server/, so `new URL('../', import.meta.url)`
 * names the root from source and from the bundles alike; files read beside a module
 * (`common-passwords.txt`) are copied next to the bundles. Plain JavaScript so that
 * `npm start` can run it with production dependencies only (esbuild is one).
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');

/** @param {string} dir @returns {string[]} */
function workers(dir) {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('-worker.ts') && basename(f) !== 'ts-worker.ts')
    .map((f) => join(dir, f));
}

const entryPoints = ['server/main.ts', 'server/admin-cli.ts', ...workers('db'), ...workers('server')];
const names = entryPoints.map((e) => basename(e, '.ts'));
if (new Set(names).size !== names.length) throw new Error(`entry points share a name (dist/ is flat): ${names.join(', ')}`);

/** Files modules read with `new URL('./x', import.meta.url)`: copied beside the bundles. */
const ASSETS = ['server/auth/common-passwords.txt'];

export async function buildServer() {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(entryPoints.map((e, i) => [names[i], e])),
    outdir: dist,
    bundle: true,
    // Modules imported dynamically (the Redis and Postgres buses, pg) become chunks of their
    // own, so their packages load only when used.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  // Every package the bundles import must be installed by `npm ci --omit=dev`.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const builtins = new Set(builtinModules);
  const missing = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || imp.path.startsWith('node:') || builtins.has(imp.path)) continue;
      const name = imp.path.startsWith('@') ? imp.path.split('/').slice(0, 2).join('/') : imp.path.split('/')[0];
      if (!deps.has(name)) missing.add(name);
    }
  }
  if (missing.size) throw new Error(`the server imports packages that are not dependencies (npm ci --omit=dev leaves them out): ${[...missing].join(', ')}`);
  for (const asset of ASSETS) copyFileSync(join(root, asset), join(dist, basename(asset)));
  writeFileSync(join(dist, 'package.json'), '{"type":"module"}\n');
  return names.map((n) => relative(root, join(dist, `${n}.js`)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildServer();
  console.log(`built ${built.join(', ')}`);
}

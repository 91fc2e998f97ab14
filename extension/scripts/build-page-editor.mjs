// @ts-check
/**
 * Builds the server document page's editor (extension/page-editor) into
 * extension/.output/page-editor/: the script and Loro's WebAssembly as separate files (the wasm
 * binary, not base64 inside the script: 3.6 MB instead of 4.8), each named by a hash of its
 * content so the server can let browsers cache them for a year, each beside its brotli and
 * gzip forms, and `manifest.json` naming them for the server (server/http/page-assets.ts).
 *
 * Plain JavaScript with esbuild, a production dependency: `npm start` builds it with
 * `npm ci --omit=dev` too. Compressing the wasm costs seconds, so a file whose hashed name is
 * already there with its compressed forms is kept.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { LORO_GLUE_FILE, withoutFunctionConstructor } from './loro-no-eval.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = join(root, 'extension/.output/page-editor');
const WASM = join(root, 'node_modules/loro-crdt/web/loro_wasm_bg.wasm');
/** The URL path the server serves these files under. */
export const PUBLIC_PATH = '/assets/';

const hashOf = (/** @type {Buffer} */ bytes) => createHash('sha256').update(bytes).digest('base64url').slice(0, 12);

/** Writes `name` and its .br and .gz forms (unless all three are there: names are content hashes). */
function emit(/** @type {string} */ name, /** @type {Buffer} */ bytes) {
  const path = join(out, name);
  if (existsSync(path) && existsSync(`${path}.br`) && existsSync(`${path}.gz`)) return;
  // Quality 11 takes ~10 s for the 3.6 MB wasm and saves 10% over 9 (0.7 s): 9 above 1 MiB.
  const quality = bytes.length > 1024 * 1024 ? 9 : 11;
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  writeFileSync(path, bytes);
}

export async function buildPageEditor() {
  mkdirSync(out, { recursive: true });
  const wasm = readFileSync(WASM);
  const wasmName = `loro-${hashOf(wasm)}.wasm`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: { editor: 'extension/page-editor/editor.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    outdir: out,
    define: { LORO_WASM_URL: JSON.stringify(`${PUBLIC_PATH}${wasmName}`) },
    plugins: [
      {
        name: 'tandem-loro',
        setup(b) {
          // `loro-crdt` (exactly: esbuild's alias would rewrite subpaths too) is the web build,
          // which instantiates its wasm from a URL (the editor passes LORO_WASM_URL).
          b.onResolve({ filter: /^loro-crdt$/ }, (args) => b.resolve('loro-crdt/web', { kind: args.kind, resolveDir: args.resolveDir }));
          b.onLoad({ filter: LORO_GLUE_FILE }, (args) => ({ contents: withoutFunctionConstructor(readFileSync(args.path, 'utf8'), args.path), loader: 'js' }));
        },
      },
    ],
    logLevel: 'warning',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!js) throw new Error('esbuild produced no editor script');
  const jsBytes = Buffer.from(js.contents);
  const jsName = `editor-${hashOf(jsBytes)}.js`;
  emit(wasmName, wasm);
  emit(jsName, jsBytes);
  const files = { [jsName]: 'text/javascript; charset=utf-8', [wasmName]: 'application/wasm' };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ entry: jsName, files }, null, 2)}\n`);
  // Earlier builds' files go (the server only ever serves what the manifest names).
  for (const file of readdirSync(out)) {
    if (file !== 'manifest.json' && !Object.keys(files).some((name) => file === name || file.startsWith(`${name}.`))) rmSync(join(out, file));
  }
  return { entry: jsName, wasm: wasmName, bytes: { js: jsBytes.length, wasm: wasm.length } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildPageEditor();
  console.log(`built extension/.output/page-editor/: ${built.entry} (${built.bytes.js} bytes), ${built.wasm} (${built.bytes.wasm} bytes), with .br and .gz`);
}

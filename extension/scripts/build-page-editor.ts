/** Bundles the server document page's editor (extension/page-editor) into extension/.output/page-editor/editor.js. */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
await build({
  entryPoints: [`${root}page-editor/editor.ts`],
  outfile: `${root}.output/page-editor/editor.js`,
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  // The base64 Loro build: no separate .wasm file to serve (see wxt.config.ts).
  alias: { 'loro-crdt': 'loro-crdt/base64' },
});
console.log('built extension/.output/page-editor/editor.js');

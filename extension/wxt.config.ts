import { fileURLToPath } from 'node:url';
import { defineConfig } from 'wxt';
import { CHROME_EXTENSION_KEY } from '../shared/extension-id';
import { LORO_GLUE_FILE, withoutFunctionConstructor } from './scripts/loro-no-eval.mjs';

// Chrome: MV3 service worker. Firefox: WXT's default MV2 with a persistent background page,
// because a Firefox MV3 event page dies after ~30 s even with socket traffic (docs/ARCHITECTURE.md).
const CSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";

// `--mode store` (npm run build:store): the package for the Chrome Web Store, which assigns
// its own id and refuses a manifest `key`; servers accept that id through TANDEM_EXTENSION_IDS.
// Every other build carries the key, so unpacked installs have the id servers accept by default.
const STORE_MODE = 'store';

export default defineConfig({
  imports: false,
  zip: {
    artifactTemplate: 'tandem-{{version}}-{{browser}}.zip',
    sourcesTemplate: 'tandem-{{version}}-sources.zip',
    // The sources zip is what an add-on reviewer rebuilds from: the repository root (package.json,
    // lockfile, shared/, extension/), without the server, tests and benchmarks.
    sourcesRoot: fileURLToPath(new URL('..', import.meta.url)),
    excludeSources: ['vitest.config.ts', 'scripts/**', 'server/**', 'db/**', 'test/**', 'bench-results/**', 'docs/**', '**/.output/**', '**/.wxt/**', '**/.tandem/**', 'dist/**'],
  },
  hooks: {
    'config:resolved': (wxt) => {
      if (wxt.config.mode === STORE_MODE) wxt.config.zip.artifactTemplate = 'tandem-{{version}}-{{browser}}-store.zip';
    },
  },
  // One Loro build in the bundle: the base64 one, which instantiates its wasm without a fetch or
  // sync XHR (plain `loro-crdt` crashes a Chrome MV3 service worker). shared/ imports `loro-crdt`.
  vite: () => ({
    resolve: { alias: [{ find: /^loro-crdt$/, replacement: 'loro-crdt/base64' }] },
    plugins: [{ name: 'tandem-loro-no-eval', transform: (code: string, id: string) => (LORO_GLUE_FILE.test(id) ? withoutFunctionConstructor(code, id) : null) }],
  }),
  manifest: ({ browser, manifestVersion, mode }) => ({
    name: 'Tandem',
    description: 'Collaborate on any text field on the web, in real time, through your own Tandem server.',
    version: '0.1.0',
    // `scripting`: the binding code and the page-world editor adapters are injected on demand
    // (Firefox has the API in MV2 too, with `world: 'MAIN'`). Each permission is justified
    // in the README ("Permissions").
    permissions: ['storage', 'contextMenus', 'clipboardWrite', 'scripting'],
    host_permissions: ['<all_urls>'],
    commands: {
      collaborate: { suggested_key: { default: 'Alt+Shift+C' }, description: 'Collaborate on the focused field' },
    },
    content_security_policy: manifestVersion === 3 ? { extension_pages: CSP } : CSP,
    ...(browser === 'chrome' && mode !== STORE_MODE ? { key: CHROME_EXTENSION_KEY } : {}),
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            gecko: {
              id: 'tandem@tandem.invalid',
              // 140 (ESR) and 142 on Android: the first that read data_collection_permissions.
              strict_min_version: '140.0',
              // The text of the fields a person chooses to share leaves the device, for the server
              // they configured (README, "Permissions").
              data_collection_permissions: { required: ['websiteContent'] },
            },
            gecko_android: { strict_min_version: '142.0' },
          },
        }
      : {}),
  }),
});

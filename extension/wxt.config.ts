import { defineConfig } from 'wxt';
import { CHROME_EXTENSION_KEY } from '../shared/extension-id';

// Chrome: MV3 service worker. Firefox: WXT's default MV2 with a persistent background page,
// because a Firefox MV3 event page dies after ~30 s even with socket traffic (DESIGN.md).
const CSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";

export default defineConfig({
  imports: false,
  zip: { artifactTemplate: 'tandem-{{version}}-{{browser}}.zip', sourcesTemplate: 'tandem-{{version}}-sources.zip' },
  // One Loro build in the bundle: the base64 one, which instantiates its wasm without a fetch or
  // sync XHR (plain `loro-crdt` crashes a Chrome MV3 service worker). shared/ imports `loro-crdt`.
  vite: () => ({ resolve: { alias: [{ find: /^loro-crdt$/, replacement: 'loro-crdt/base64' }] } }),
  manifest: ({ browser, manifestVersion }) => ({
    name: 'Tandem',
    description: 'Collaborate on any text field on the web, in real time, through your own Tandem server.',
    version: '0.1.0',
    permissions: ['storage', 'contextMenus', 'clipboardWrite', ...(manifestVersion === 3 ? ['scripting'] : [])],
    host_permissions: ['<all_urls>'],
    commands: {
      collaborate: { suggested_key: { default: 'Alt+Shift+C' }, description: 'Collaborate on the focused field' },
    },
    content_security_policy: manifestVersion === 3 ? { extension_pages: CSP } : CSP,
    ...(browser === 'chrome' ? { key: CHROME_EXTENSION_KEY } : {}),
    ...(browser === 'firefox' ? { browser_specific_settings: { gecko: { id: 'tandem@tandem.invalid', strict_min_version: '115.0' } } } : {}),
  }),
});

/**
 * Files the server reads from the repository (built extension packages, the document page's
 * editor). The server runs from source (server/) or from its build (dist/), both one level
 * below the root, so `../` from here is the root either way (scripts/build-server.mjs).
 */
import { fileURLToPath } from 'node:url';

/** The repository root, ending in a slash. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What `npm run build:extension` writes: extension zips, and `page-editor/`. */
export const EXTENSION_OUTPUT = `${ROOT}extension/.output/`;

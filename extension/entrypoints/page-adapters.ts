import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { startPageAdapters } from '../lib/page/index';

// Runs in the page's own world (the editors' objects live there), injected by the background
// when a frame's binding code meets a framework editor. It can reach no extension API.
export default defineUnlistedScript(() => startPageAdapters());

import { defineUnlistedScript } from 'wxt/utils/define-unlisted-script';
import { startBindings } from '../lib/content/bindings';

// Injected into a frame by the background when the detector asks (a field got focus, a bound page loaded).
export default defineUnlistedScript(() => startBindings());

import { defineContentScript } from 'wxt/utils/define-content-script';
import { startDetector } from '../lib/content/detector';

// Tiny on purpose: the binding code is injected on demand (see lib/content/detector.ts).
export default defineContentScript({
  matches: ['<all_urls>'],
  allFrames: true,
  matchAboutBlank: true,
  runAt: 'document_idle',
  main: () => startDetector(),
});

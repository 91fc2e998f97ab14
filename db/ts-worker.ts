/**
 * Starts a worker thread on one of the project's `*-worker.ts` modules.
 *
 * Built (dist/, scripts/build-server.mjs): every worker module is a bundle beside the entry
 * point that runs, so `new URL('./x-worker.ts', import.meta.url)` written in the source names
 * `dist/x-worker.ts` there, and the worker runs `dist/x-worker.js`.
 * From source (tests, development): Node 20 ignores `--import` in a worker's execArgv for the
 * worker's entry, so the bootstrap registers tsx's require hook itself and then loads the module.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** True in the bundles of dist/ (this module is then part of a `.js` file). */
const BUILT = !import.meta.url.endsWith('.ts');

export function startTsWorker(moduleUrl: URL, workerData?: unknown, resourceLimits?: ResourceLimits): Worker {
  if (BUILT) return new Worker(new URL(moduleUrl.href.replace(/\.ts$/, '.js')), { workerData, ...(resourceLimits ? { resourceLimits } : {}) });
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const entry = fileURLToPath(moduleUrl);
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`, {
    eval: true,
    workerData,
    ...(resourceLimits ? { resourceLimits } : {}),
  });
}

/**
 * Starts a worker thread on a TypeScript module. Node 20 ignores `--import` in a worker's
 * execArgv for the worker's entry, so the bootstrap registers tsx's require hook itself and
 * then loads the module. Remove when the project runs compiled JavaScript or Node's own type
 * stripping.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export function startTsWorker(moduleUrl: URL, workerData?: unknown): Worker {
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const entry = fileURLToPath(moduleUrl);
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)});`, {
    eval: true,
    workerData,
  });
}

/** `npm start`: one Tandem node, configured from the environment. */
import { ConfigError, readConfig } from './config';
import { createLogger } from './logger';
import { createTandemServer } from './tandem-server';

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.logLevel);
  const server = await createTandemServer({ config, log });
  await server.listen();
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1); // a second Ctrl-C does not wait
    log.info('server.stopping', { signal });
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('server.stop_failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`tandem failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

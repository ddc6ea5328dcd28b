import { createLogger, onShutdown } from '@surge/infra';
import { ConfigError, processEnv, startupLogLevel } from './env.ts';
import { startWorker } from './worker.ts';

const log = createLogger(startupLogLevel(), 'surge-worker');

try {
  const worker = await startWorker(processEnv(), log);
  onShutdown({ delay: 30_000, log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'fatal error, shutting down');
    else log.info({ signal }, 'shutting down: finishing the held batch');
    await worker.close();
  });
} catch (err) {
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'worker failed to start');
  process.exit(1);
}

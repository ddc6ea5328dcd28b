import { createLogger, onShutdown } from '@surge/infra';
import { startServer } from './app.ts';
import { ConfigError, processEnv, startupLogLevel } from './env.ts';

const log = createLogger(startupLogLevel(), 'surge-server');

try {
  const server = await startServer(processEnv(), log);
  onShutdown({ delay: 15_000, log }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'fatal error, shutting down');
    else log.info({ signal }, 'shutting down');
    await server.close();
  });
} catch (err) {
  if (err instanceof ConfigError) {
    log.fatal(err.message);
  } else {
    log.fatal({ err }, 'server failed to start');
  }
  process.exit(1);
}

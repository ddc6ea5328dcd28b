import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '@surge/infra';
import { loadServerEnv, processEnv } from './env.ts';
import { createHttpServer } from './http/server.ts';
import { createServices } from './services.ts';

/**
 * Starts one server: services, background loops and the HTTP listener. Used by main.ts and by
 * integration tests that run a server in-process.
 */
export async function startServer(source = processEnv(), logger?: Logger) {
  const env = loadServerEnv(source);
  const log = logger ?? createLogger(env.LOG_LEVEL, 'surge-server');
  const services = await createServices(env, log);
  const webDist = env.WEB_DIST ?? fileURLToPath(new URL('../../web/dist', import.meta.url));
  const http = createHttpServer(services, webDist);
  http.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(env.PORT, env.HOST, resolve);
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ port, namespace: env.SURGE_NAMESPACE }, 'server listening');
  if (env.POW_MAX_NUMBER === 0 && env.NODE_ENV === 'production')
    log.warn('POW_MAX_NUMBER=0: new guest sessions cost no proof of work (README.md#security)');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    services,
    /** Graceful: readiness goes 503, new connections stop, in-flight requests are answered. */
    async close() {
      services.beginShutdown();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        // Keep-alive sockets become idle once their last answer is written: close them as they
        // do (every answer now carries `Connection: close`), and cut any left after 10 s.
        const idle = setInterval(() => http.closeIdleConnections(), 50);
        const hard = setTimeout(() => http.closeAllConnections(), 10_000);
        http.once('close', () => {
          clearInterval(idle);
          clearTimeout(hard);
        });
        http.closeIdleConnections();
      });
      await services.close();
    },
  };
}

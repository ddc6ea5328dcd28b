import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSqlPool } from '@surge/db';
import { failureCountKey, OrderScripts, saleKeys } from '@surge/hot-state';
import {
  connectStores,
  createLogger,
  EventFeed,
  type Logger,
  metricsAllowed,
  startHeartbeat,
} from '@surge/infra';
import { loadWorkerEnv, processEnv } from './env.ts';
import { createWorkerMetrics } from './metrics.ts';
import { OrderConsumer } from './order-consumer.ts';
import { createPaymentSimulator } from './payment.ts';

/**
 * Starts one worker: connections, the consumer, the heartbeat and the health/metrics
 * listener on WORKER_PORT (`0` picks a free port, for several workers on one host).
 */
export async function startWorker(source = processEnv(), logger?: Logger) {
  const env = loadWorkerEnv(source);
  const log = (logger ?? createLogger(env.LOG_LEVEL, 'surge-worker')).child({ workerId: env.workerId });
  const ns = env.SURGE_NAMESPACE;
  const stores = await connectStores(env, { name: `surge-worker-${env.workerId}`, log });
  const { redis, prisma, nats } = stores;
  const metrics = createWorkerMetrics();
  // One connection per batch in flight, and one spare for a batch's second statement.
  const sql = createSqlPool(env.DATABASE_URL, {
    max: env.WORKER_CONCURRENCY + 1,
    onError: (err) => log.warn({ err }, 'an idle PostgreSQL connection failed'),
  });
  const events = new EventFeed(redis, ns, `worker ${env.workerId}`);
  const consumer = new OrderConsumer({
    env,
    log,
    prisma,
    sql,
    scripts: new OrderScripts(redis),
    nats,
    metrics,
    payment: createPaymentSimulator({
      failureRate: env.PAYMENT_FAILURE_RATE,
      latencyMs: env.PAYMENT_LATENCY_MS,
    }),
    keysOf: (saleId) => saleKeys(ns, saleId),
    countFailure: async (saleId, orderId) => {
      const key = failureCountKey(ns, saleId);
      const [[, n]] = (await redis.multi().hincrby(key, orderId, 1).pexpire(key, 86_400_000).exec()) as [
        [unknown, number],
      ];
      return n;
    },
    requestRebuild: (saleId) => redis.set(saleKeys(ns, saleId).rebuild, '1'),
    events,
  });

  let shuttingDown = false;
  const http = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/readyz') {
      void stores.health.postgres().then((postgres) => {
        const checks = {
          nats: stores.health.nats(),
          postgres,
          state: consumer.state,
          shuttingDown,
        };
        const ready = !shuttingDown && checks.nats === 'ok' && postgres === 'ok';
        res
          .writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ ready, workerId: env.workerId, ...checks }));
      });
    } else if (req.url === '/metrics') {
      if (!metricsAllowed(req, res, env.METRICS_TOKEN)) return;
      void metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(env.WORKER_PORT, env.HOST, resolve);
  });
  const port = (http.address() as AddressInfo).port;
  await consumer.start();
  const heartbeat = startHeartbeat(
    redis,
    { namespace: ns, kind: 'worker', id: env.workerId, intervalMs: env.HEARTBEAT_MS },
    () => ({
      state: consumer.state,
      detail: { port, processed: consumer.processed, databaseUp: consumer.databaseUp },
    }),
  );
  log.info({ port, namespace: ns }, 'worker consuming');

  return {
    port,
    workerId: env.workerId,
    consumer,
    /** The worker's connections, for tests. */
    stores,
    /** SIGTERM: readiness 503, stop pulling, finish and ack the held batch, close. */
    async close() {
      shuttingDown = true;
      await consumer.stop();
      await heartbeat.stop();
      await events.close();
      http.close();
      http.closeAllConnections();
      await stores.close();
      await sql.end();
    },
  };
}

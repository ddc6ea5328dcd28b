import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The worker's Prometheus metrics (docs/architecture.md#logs-metrics-health-and-audit). */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'surge_worker_' });
  return {
    registry,
    persisted: new Counter({
      name: 'surge_orders_persisted_total',
      help: 'order rows inserted',
      registers: [registry],
    }),
    finalized: new Counter({
      name: 'surge_orders_finalized_total',
      help: 'orders reaching a final status, by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'surge_orders_dropped_total',
      help: 'messages acknowledged without a row, by why',
      labelNames: ['why'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'surge_dead_letters_total',
      help: 'messages dead-lettered',
      registers: [registry],
    }),
    keyConflicts: new Counter({
      name: 'surge_idempotency_conflicts_total',
      help: 'ALARM: a key already used by another order id (Redis lost data silently)',
      registers: [registry],
    }),
    staleHotState: new Counter({
      name: 'surge_stale_hot_state_total',
      help: "ALARM: messages whose reservation Redis held at an epoch older than the sale's (Redis behind PostgreSQL): their orders end FAILED unless a row exists (a redelivery counts again)",
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'surge_worker_batch_size',
      help: 'messages per batch',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'surge_worker_batch_seconds',
      help: 'time to process one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchesInFlight: new Gauge({
      name: 'surge_worker_batches_in_flight',
      help: 'batches being processed at once (at most WORKER_CONCURRENCY)',
      registers: [registry],
    }),
    databaseUp: new Gauge({
      name: 'surge_worker_database_up',
      help: '1 while PostgreSQL answers',
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The server's Prometheus metrics (SPEC §5b); one registry per app instance. */
export function createServerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'surge_server_' });
  const m = {
    registry,
    ordersReceived: new Counter({
      name: 'surge_orders_received_total',
      help: 'order.place calls',
      registers: [registry],
    }),
    ordersAccepted: new Counter({
      name: 'surge_orders_accepted_total',
      help: 'orders accepted (PENDING)',
      registers: [registry],
    }),
    ordersRejected: new Counter({
      name: 'surge_orders_rejected_total',
      help: 'order.place calls answered with an error, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    ordersReplayed: new Counter({
      name: 'surge_orders_replayed_total',
      help: 'idempotent replays',
      registers: [registry],
    }),
    placeLatency: new Histogram({
      name: 'surge_order_place_seconds',
      help: 'order.place latency inside the procedure',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'surge_publish_breaker_open',
      help: '1 while the publish circuit breaker is open',
      registers: [registry],
    }),
    outboxSize: new Gauge({
      name: 'surge_outbox_size',
      help: 'reservations not yet published, per sale',
      labelNames: ['sale'],
      registers: [registry],
    }),
    remaining: new Gauge({
      name: 'surge_sale_remaining',
      help: 'remaining stock',
      labelNames: ['sale'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'surge_queue_depth',
      help: 'order messages in the stream not yet acknowledged',
      registers: [registry],
    }),
    sweeperSettled: new Counter({
      name: 'surge_sweeper_settled_total',
      help: 'orphan reservations settled by the sweeper',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'surge_rate_limited_total',
      help: 'requests refused by a rate limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
  };
  return m;
}
export type ServerMetrics = ReturnType<typeof createServerMetrics>;

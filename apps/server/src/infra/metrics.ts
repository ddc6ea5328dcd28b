import type { JetStreamManager } from '@nats-io/jetstream';
import { natsNames } from '@surge/contracts';
import type { SaleKeys } from '@surge/hot-state';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What the gauges of the install read when /metrics is scraped: per sale its remaining stock
 * (null while its hot state is missing) and outbox size, and the orders stream's depth.
 */
export interface GaugeReadings {
  sales: { id: string; remaining: number | null; outbox: number }[];
  queueDepth: number;
}

/**
 * The server's Prometheus metrics (docs/architecture.md#logs-metrics-health-and-audit); one
 * registry per app instance.
 */
export function createServerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'surge_server_' });
  // The gauges of the install are read from Redis and NATS at scrape time, once per scrape
  // for all three (the registry collects them concurrently); a failed read keeps the values
  // of the last one that succeeded.
  let source: (() => Promise<GaugeReadings>) | null = null;
  let inflight: Promise<GaugeReadings | null> | null = null;
  const reading = (): Promise<GaugeReadings | null> => {
    inflight ??= (source ? source() : Promise.resolve(null))
      .catch(() => null)
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
  const m = {
    registry,
    /** Where the install-wide gauges come from (set once the connections exist). */
    readGaugesFrom(read: () => Promise<GaugeReadings>): void {
      source = read;
    },
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
      async collect() {
        const r = await reading();
        if (!r) return;
        this.reset();
        for (const s of r.sales) this.set({ sale: s.id }, s.outbox);
      },
    }),
    remaining: new Gauge({
      name: 'surge_sale_remaining',
      help: 'remaining stock',
      labelNames: ['sale'],
      registers: [registry],
      async collect() {
        const r = await reading();
        if (!r) return;
        this.reset();
        for (const s of r.sales) if (s.remaining !== null) this.set({ sale: s.id }, s.remaining);
      },
    }),
    queueDepth: new Gauge({
      name: 'surge_queue_depth',
      help: 'order messages in the stream not yet acknowledged',
      registers: [registry],
      async collect() {
        const r = await reading();
        if (r) this.set(r.queueDepth);
      },
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

/** One read of the gauges: Redis over the known sales, and the stream's state. */
export async function readGauges(d: {
  redis: Redis;
  jsm: JetStreamManager;
  namespace: string;
  saleIds: () => string[];
  keysOf: (saleId: string) => SaleKeys;
}): Promise<GaugeReadings> {
  const ids = d.saleIds();
  // Plain commands, not a pipeline: on Redis Cluster the sales live on several shards.
  const settle = (p: Promise<unknown>) =>
    p.then(
      (v): [Error | null, unknown] => [null, v],
      (e: Error): [Error | null, unknown] => [e, null],
    );
  const [replies, stream] = await Promise.all([
    Promise.all(
      ids.flatMap((id) => {
        const k = d.keysOf(id);
        return [settle(d.redis.hget(k.hot, 'remaining')), settle(d.redis.zcard(k.outbox))];
      }),
    ),
    d.jsm.streams.info(natsNames(d.namespace).stream),
  ]);
  const value = (i: number): unknown => {
    const [err, v] = replies?.[i] ?? [null, null];
    if (err) throw err;
    return v;
  };
  return {
    sales: ids.map((id, i) => {
      const remaining = value(2 * i);
      return {
        id,
        remaining: typeof remaining === 'string' ? Math.max(0, Number(remaining)) : null,
        outbox: Number(value(2 * i + 1)),
      };
    }),
    queueDepth: stream.state.messages,
  };
}

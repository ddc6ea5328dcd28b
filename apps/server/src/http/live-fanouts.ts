import type { IncomingMessage, ServerResponse } from 'node:http';
import { getErrorShape, getTRPCErrorFromUnknown } from '@trpc/server';
import { Gauge } from 'prom-client';
import { QueueFanout } from '../live/queue-fanout.ts';
import { SaleFanout } from '../live/sale-fanout.ts';
import type { AppServices } from '../services.ts';
import { appRouter } from '../trpc/root.ts';
import { LIVE_TICK_MS } from '../trpc/routers/live.ts';
import { SSE_OPTIONS, toTRPCError } from '../trpc/trpc.ts';

type Serve = (req: IncomingMessage, res: ServerResponse, fallback: () => void) => void;

/**
 * The fan-outs of live data (docs/architecture.md#live-data): `live.sale` (one frame serialised
 * for all of a sale's streams) and `live.queue` (one read of the room per sale and tick for all
 * its followers), each serving the plain case of its subscription without tRPC's per-stream
 * machinery and giving the rest back to tRPC (`fallback`). Returns the server of a request the
 * fan-outs take, else null.
 */
export function liveFanouts(services: AppServices): (url: URL, req: IncomingMessage) => Serve | null {
  const { domain, log } = services;
  const common = {
    sampler: domain.sampler,
    tickMs: LIVE_TICK_MS,
    pingMs: SSE_OPTIONS.ping.intervalMs,
    clientOptions: SSE_OPTIONS.client,
    closing: domain.subscriptionSignal(undefined),
    log,
  };
  const chargeRead = (req: IncomingMessage) => domain.limits.consume('read-ip', services.clientIp(req));
  const liveSale = new SaleFanout({ ...common, chargeRead, read: (saleId) => domain.sales.get(saleId) });
  const config = appRouter._def._config;
  const liveQueue = new QueueFanout({
    ...common,
    room: domain.room,
    userOf: (req) => domain.sessions.guestUserId(req),
    chargeRead,
    // As tRPC's SSE writer formats an error thrown by the procedure after the stream opened.
    errorData: (err, input) => {
      const error = getTRPCErrorFromUnknown(toTRPCError(err));
      const path = 'live.queue';
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error({ err: error.cause ?? error, path }, 'procedure failed');
      return JSON.stringify(
        getErrorShape({ config, error, type: 'subscription', path, input, ctx: undefined }),
      );
    },
  });
  gauge(services, 'surge_live_sale_streams', 'live.sale streams served by the fan-out', liveSale);
  gauge(services, 'surge_live_queue_streams', 'live.queue streams served by the fan-out', liveQueue);
  // A fault while serving one stream ends that stream, never the process (an unhandled
  // rejection would shut the server down).
  const guarded = (serving: Promise<void>, res: ServerResponse) =>
    void serving.catch((err: unknown) => {
      log.error({ err }, 'a live stream failed; it ends');
      if (!res.destroyed) res.destroy();
    });
  return (url, req) => {
    const saleId = SaleFanout.wants(url, req);
    if (saleId) return (rq, rs, fallback) => guarded(liveSale.serve(saleId, rq, rs, fallback), rs);
    const queued = QueueFanout.wants(url, req);
    if (queued) return (rq, rs, fallback) => guarded(liveQueue.serve(queued, rq, rs, fallback), rs);
    return null;
  };
}

function gauge(services: AppServices, name: string, help: string, fanout: { size(): number }): void {
  new Gauge({
    name,
    help,
    registers: [services.metrics.registry],
    collect() {
      this.set(fanout.size());
    },
  });
}

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { metricsAllowed } from '@surge/infra';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { HTTPErrorHandler } from '@trpc/server/http';
import { Counter } from 'prom-client';
import type { AppServices } from '../services.ts';
import { contextFactory } from '../trpc/context.ts';
import { type AppRouter, appRouter } from '../trpc/root.ts';
import { directProcedures } from './direct-procedures.ts';
import { createFastMutationHandler, FOLLOWED_TRPC_VERSION, installedTrpcVersion } from './fast-mutation.ts';
import { MAX_BATCH, MAX_BODY_BYTES, refuseTrpcRequest, sendTrpcError, setHeaders } from './guards.ts';
import { liveFanouts } from './live-fanouts.ts';
import { staticFiles } from './static-files.ts';
import { isSubscriptionRequest } from './stream-caps.ts';

/** Routes of the server: /trpc, /healthz, /readyz, /metrics and the built web app. */
export function createHttpServer(services: AppServices, webDist: string): Server {
  const createContext = contextFactory(services);
  const onError: HTTPErrorHandler<AppRouter, IncomingMessage> = ({ error, path, ctx }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      (ctx?.log ?? services.log).error({ err: error.cause ?? error, path }, 'procedure failed');
    }
  };
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext,
    maxBodySize: MAX_BODY_BYTES,
    maxBatchSize: MAX_BATCH,
    allowBatching: true,
    onError,
  });
  // Single JSON mutations (order.place) answered without the adapter's web Request/Response
  // layer, identically (http/fast-mutation.ts); everything else still goes to `trpc`.
  const fastMutation = fastPathWanted(services)
    ? createFastMutationHandler({
        router: appRouter,
        createContext,
        onError,
        maxBodySize: MAX_BODY_BYTES,
        onHandled: fastPathCounter(services),
        // order.place's and queue.join's lean twins: a spike's bulk (http/direct-procedures.ts).
        direct: directProcedures(services),
      })
    : null;
  // live.sale and live.queue: served without tRPC's per-stream machinery (http/live-fanouts.ts).
  const fanout = liveFanouts(services);
  const web = staticFiles(webDist);
  // The headers answers start with, as flat lists (name, value, …): every answer gets
  // `Connection: close` while shutting down and, in production (served over TLS by the
  // deployment), HSTS so browsers keep to HTTPS (issue 10 L8); answers of /trpc/ may be personal
  // (orders, sessions, the HUD) and are never kept by a shared cache or the browser
  // (README.md#security, issue 10 L5).
  const hsts =
    services.env.NODE_ENV === 'production'
      ? ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains']
      : [];
  const noStore = ['Cache-Control', 'private, no-store'];
  const heads = {
    open: { any: hsts, trpc: [...hsts, ...noStore] },
    closing: { any: ['Connection', 'close', ...hsts], trpc: ['Connection', 'close', ...hsts, ...noStore] },
  } as const satisfies Record<string, Record<string, readonly string[]>>;

  // README.md#security: bounded header and request times (slow-loris), checked every second, and open
  // connections. A request timeout bounds receiving a request, not answering it: SSE streams
  // are not cut by it.
  const server = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 },
    (req, res) => {
      const head = services.isShuttingDown() ? heads.closing : heads.open;
      const url = new URL(req.url ?? '/', 'http://surge.invalid');
      const path = url.pathname;
      if (path.startsWith('/trpc/')) {
        const refusal = refuseTrpcRequest(req, url, services.env.allowedOrigins);
        // The fast path writes these headers with its answer in one go; every other answer gets them here.
        if (!refusal && fastMutation?.(req, res, url, head.trpc)) return;
        setHeaders(res, head.trpc);
        if (refusal) {
          req.resume();
          sendTrpcError(res, refusal.reason, refusal.message);
          return;
        }
        if (isSubscriptionRequest(req, path)) {
          // Counted across servers in Redis first (http/stream-caps.ts): 429 past SSE_MAX_PER_IP.
          // The plain live.sale and live.queue then go to their fan-outs, the rest to tRPC.
          const served = fanout(url, req);
          services.streams
            .admit(req, res, services.clientIp(req))
            .then((ok) => {
              if (!ok) return;
              if (served) served(req, res, () => void trpc(req, res));
              else void trpc(req, res);
            })
            .catch((err: unknown) => {
              // One stream's fault ends that stream, never the process.
              services.log.error({ err, path }, 'a stream failed to open; it ends');
              if (!res.destroyed) res.destroy();
            });
          return;
        }
        void trpc(req, res);
        return;
      }
      setHeaders(res, head.any);
      if (path === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (path === '/readyz') {
        void services.readiness().then(({ ready, checks }) => {
          res
            .writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ ready, ...checks }));
        });
        return;
      }
      if (path === '/metrics') {
        if (!metricsAllowed(req, res, services.env.METRICS_TOKEN)) return;
        void services.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': services.metrics.registry.contentType }).end(text);
        });
        return;
      }
      web(req, res, path);
    },
  );
  if (services.env.MAX_CONNECTIONS > 0) server.maxConnections = services.env.MAX_CONNECTIONS;
  return server;
}

/** TRPC_FAST_PATH, and only over the @trpc/server version whose answers the fast path reproduces. */
function fastPathWanted(services: AppServices): boolean {
  if (!services.env.TRPC_FAST_PATH) return false;
  const installed = installedTrpcVersion();
  if (installed === FOLLOWED_TRPC_VERSION) return true;
  services.log.warn(
    { installed, followed: FOLLOWED_TRPC_VERSION },
    'tRPC fast path off: @trpc/server is not the version it reproduces (see http/fast-mutation.ts)',
  );
  return false;
}

/** `surge_trpc_fast_path_total`: requests answered by the fast path (only while it is on). */
function fastPathCounter(services: AppServices): () => void {
  const counter = new Counter({
    name: 'surge_trpc_fast_path_total',
    help: 'single JSON mutations answered by the fast path instead of the tRPC adapter',
    registers: [services.metrics.registry],
  });
  return () => counter.inc();
}

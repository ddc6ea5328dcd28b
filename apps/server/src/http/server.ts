import { createServer, type Server } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { AppServices } from '../services.ts';
import { contextFactory } from '../trpc/context.ts';
import { appRouter } from '../trpc/root.ts';
import { MAX_BATCH, MAX_BODY_BYTES, refuseTrpcRequest, sendTrpcError } from './guards.ts';
import { staticFiles } from './static-files.ts';

/** Routes of the server: /trpc, /healthz, /readyz, /metrics and the built web app. */
export function createHttpServer(services: AppServices, webDist: string): Server {
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: contextFactory(services),
    maxBodySize: MAX_BODY_BYTES,
    maxBatchSize: MAX_BATCH,
    allowBatching: true,
    onError: ({ error, path, ctx }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        (ctx?.log ?? services.log).error({ err: error.cause ?? error, path }, 'procedure failed');
      }
    },
  });
  const web = staticFiles(webDist);

  return createServer((req, res) => {
    if (services.isShuttingDown()) res.setHeader('Connection', 'close');
    const url = new URL(req.url ?? '/', 'http://surge.invalid');
    const path = url.pathname;
    if (path.startsWith('/trpc/')) {
      const refusal = refuseTrpcRequest(req, url, services.env.allowedOrigins);
      if (refusal) {
        req.resume();
        sendTrpcError(res, refusal.reason, refusal.message);
        return;
      }
      void trpc(req, res);
      return;
    }
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
      void services.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': services.metrics.registry.contentType }).end(text);
      });
      return;
    }
    web(req, res, path);
  });
}

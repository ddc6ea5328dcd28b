/**
 * The baseline of `npm run bench`: a bare node:http route that calls the very same place-order
 * service function (`services.domain.intake.place`: rate limits, metrics, reserve, publish) as the tRPC
 * procedure `order.place`, without tRPC. Bundled like the server (scripts/bundle.mjs) and run
 * with NODE_ENV=production by bench/run.ts, so both sides of the comparison are built JS.
 *
 * `POST /order` with `{ saleId, quantity, idempotencyKey }` (validated by the same zod schema),
 * the user in `X-User-Id`. Answers use tRPC's JSON shape (`result.data` / `error.data.reason`)
 * so the load generator reads both sides the same way. Arguments name a sale to create at start.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { orderPlaceInput } from '@surge/contracts';
import { createLogger } from '@surge/infra';
import { loadServerEnv } from '../apps/server/src/env.ts';
import { isAppError } from '../apps/server/src/errors.ts';
import { createServices } from '../apps/server/src/services.ts';

const MAX_BODY_BYTES = 64 * 1024;

const env = loadServerEnv(process.env);
const log = createLogger(env.LOG_LEVEL, 'surge-bench-baseline');
const services = await createServices(env, log);

// `node baseline-server.js <saleId> <totalStock> <perUserLimit>` creates that sale first.
const [saleId, totalStock, perUserLimit] = process.argv.slice(2);
if (saleId) {
  await services.domain.sales.create({
    id: saleId,
    name: `bench ${saleId}`,
    priceCents: 1000,
    totalStock: Number(totalStock ?? 10_000_000),
    perUserLimit: Number(perUserLimit ?? 100),
  });
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, status: number, reason: string, message: string): void {
  send(res, status, { error: { message, data: { reason, httpStatus: status } } });
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function placeOrder(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === null) return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'body too large');
  const userHeader = req.headers['x-user-id'];
  const userId = Array.isArray(userHeader) ? userHeader[0] : userHeader;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return sendError(res, 400, 'VALIDATION', 'invalid JSON');
  }
  const input = orderPlaceInput.safeParse(json);
  if (!input.success) return sendError(res, 400, 'VALIDATION', input.error.message);
  if (!userId) return sendError(res, 401, 'NO_SESSION', 'X-User-Id is required');
  try {
    const result = await services.domain.intake.place({
      ...input.data,
      userId,
      correlationId: randomUUID(),
      ip: services.clientIp(req),
    });
    send(res, 200, { result: { data: result } });
  } catch (err) {
    if (isAppError(err)) return sendError(res, err.status, err.reason, err.message);
    log.error({ err }, 'place order failed');
    sendError(res, 500, 'INTERNAL', 'internal error');
  }
}

const http = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/order' && req.method === 'POST') {
    void placeOrder(req, res).catch((err: unknown) => {
      log.error({ err }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
    });
    return;
  }
  if (path === '/readyz') {
    void services.readiness().then(({ ready, checks }) => send(res, ready ? 200 : 503, { ready, ...checks }));
    return;
  }
  req.resume();
  sendError(res, 404, 'NOT_FOUND', 'no such route');
});
http.keepAliveTimeout = 65_000;
await new Promise<void>((resolve, reject) => {
  http.once('error', reject);
  http.listen(env.PORT, env.HOST, resolve);
});
log.info({ port: (http.address() as AddressInfo).port }, 'baseline listening');

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  services.beginShutdown();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeIdleConnections();
  });
  await services.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());

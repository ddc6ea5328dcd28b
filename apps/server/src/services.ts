import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { globalKeys, OrderScripts, saleKeys } from '@surge/hot-state';
import type { Logger } from '@surge/infra';
import {
  connectStores,
  EventFeed,
  pendingForSale,
  readEvents,
  recentEvents,
  startHeartbeat,
} from '@surge/infra';
import { AuditLog, describeInput } from './admin/audit.ts';
import { DeadLetters } from './admin/dead-letters.ts';
import { Sessions } from './auth/sessions.ts';
import type { ServerEnv } from './env.ts';
import { appError } from './errors.ts';
import { createServerMetrics } from './infra/metrics.ts';
import { RateLimits } from './limits/rate-limits.ts';
import { HudSnapshots } from './live/hud-snapshot.ts';
import { SharedSampler } from './live/shared-sampler.ts';
import { OrderQueries } from './orders/order-queries.ts';
import { type PlaceOrderInput, placeOrder } from './orders/place-order.ts';
import { OrderPublisher } from './orders/publisher.ts';
import { sweepSale } from './orders/sweeper.ts';
import { SaleCatalog } from './sales/catalog.ts';
import { RebuildCoordinator } from './sales/rebuild.ts';
import { SalesService } from './sales/sales-service.ts';

/**
 * The composition root of one server process: connections, services and background loops.
 * Procedures reach everything through `ctx.services`; nothing here knows about tRPC.
 */
export async function createServices(env: ServerEnv, log: Logger) {
  const ns = env.SURGE_NAMESPACE;
  const keysOf = (saleId: string) => saleKeys(ns, saleId);
  const stores = await connectStores({
    redisUrl: env.REDIS_URL,
    natsUrl: env.NATS_URL,
    databaseUrl: env.DATABASE_URL,
    name: `surge-server-${process.pid}`,
    log,
    ordersStream: { namespace: ns, maxBytes: env.STREAM_MAX_BYTES, replicas: env.STREAM_REPLICAS },
  });
  const { redis, prisma, nats } = stores;
  const metrics = createServerMetrics();
  const instanceId = `server-${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  const events = new EventFeed(redis, ns, instanceId);
  const scripts = new OrderScripts(redis);
  const publisher = new OrderPublisher(nats, {
    namespace: ns,
    breakerFailures: env.BREAKER_FAILURES,
    breakerHalfOpenMs: env.BREAKER_HALF_OPEN_MS,
    // All retries end well before the lease does, so the sweeper never races a live publish.
    deadlineMs: Math.max(100, Math.floor(env.LEASE_MS * 0.6)),
  });
  nats.onConnectionChange((up) => publisher.onConnectionChange(up));
  publisher.startProbing();
  publisher.breaker.onStateChange(() => {
    const state = publisher.breakerState();
    metrics.breakerState.set(state === 'closed' ? 0 : 1);
    void events.emit('breaker', `${instanceId}: publish breaker ${state}`, { state });
  });

  const catalog = new SaleCatalog(prisma);
  await catalog.refresh();
  const rebuild = new RebuildCoordinator({
    prisma,
    redis,
    scripts,
    keysOf,
    pendingMessages: (saleId) => pendingForSale(nats.jsm, ns, saleId),
    isEnded: (saleId) => catalog.ended(saleId),
    idempotencyTtlS: env.IDEMPOTENCY_TTL_S,
    timeoutMs: env.REBUILD_TIMEOUT_MS,
    log,
    onEvent: ({ saleId, result }) =>
      void events.emit(
        'rebuild',
        result.ok
          ? `sale ${saleId} rebuilt: ${result.remaining} remaining`
          : `rebuild of ${saleId} blocked: ${result.waitingFor.join(', ')}`,
        { saleId },
      ),
  });
  const sales = new SalesService({
    prisma,
    redis,
    scripts,
    catalog,
    rebuild,
    keysOf,
    idempotencyTtlS: env.IDEMPOTENCY_TTL_S,
  });
  const orders = new OrderQueries({ prisma, redis, keysOf, saleIds: () => catalog.ids() });
  const gk = globalKeys(ns);
  const limits = new RateLimits(
    redis,
    {
      perUser: env.RATE_LIMIT_PER_USER,
      perIp: env.RATE_LIMIT_PER_IP,
      windowMs: env.RATE_LIMIT_WINDOW_MS,
      adminLogin: env.ADMIN_LOGIN_LIMIT,
      adminLoginWindowMs: env.ADMIN_LOGIN_WINDOW_MS,
      prefix: gk.rateLimitPrefix,
    },
    (name, key) => {
      metrics.rateLimited.inc({ limit: name });
      events.coalesce('rate-limit', name, `rate limit ${name} hit`, { limit: name, key });
    },
  );
  const sessions = new Sessions({
    redis,
    secret: env.SESSION_SECRET,
    adminPassword: env.ADMIN_PASSWORD,
    secure: env.NODE_ENV === 'production',
    adminKey: gk.adminSession,
  });
  const audit = new AuditLog(
    prisma,
    log,
    (e) =>
      void events.emit('admin', `${e.action}${e.ok ? '' : ' refused'}${describeInput(e.input)}`, {
        action: e.action,
        ok: e.ok,
      }),
  );
  const sampler = new SharedSampler((err, key) => log.warn({ err, key }, 'live sampler read failed'));
  const hud = new HudSnapshots({
    redis,
    prisma,
    nats,
    namespace: ns,
    saleIds: () => catalog.ids(),
    keysOf,
    breaker: () => publisher.breakerState(),
  });
  const shutdownController = new AbortController();
  const deadLetters = new DeadLetters({ prisma, scripts, publisher, keysOf, leaseMs: env.LEASE_MS });

  const placeDeps = {
    leaseMs: env.LEASE_MS,
    retryAfterMs: 500,
    keysOf,
    saleExists: (id: string) => catalog.exists(id),
    acceptsNewOrders: () => publisher.acceptsNewOrders(),
    reserve: scripts.reserve.bind(scripts),
    publish: publisher.publish.bind(publisher),
    markPublished: scripts.markPublished.bind(scripts),
    release: scripts.release.bind(scripts),
    requestRebuild: (saleId: string) => rebuild.request(saleId),
    saleEnded: (saleId: string) => catalog.ended(saleId),
    afterReserve: faultAfterReserve(env),
  };

  let shuttingDown = false;
  const heartbeat = startHeartbeat(
    redis,
    { namespace: ns, kind: 'server', id: instanceId, intervalMs: 1000 },
    () => ({
      state: shuttingDown ? 'stopping' : publisher.acceptsNewOrders() ? 'running' : 'queue-unavailable',
      detail: { breaker: publisher.breakerState(), nats: nats.isConnected(), port: env.PORT },
    }),
  );
  // SPEC §4 step 8: a Redis restart (new run_id) may have lost acknowledged writes.
  // SPEC §4 step 8: a Redis restart (new run_id) may have lost acknowledged writes (AOF
  // fsyncs once a second), so every sale is rebuilt. The last seen run_id lives in Redis
  // itself: it survives our own restarts, and finding it missing also means lost data.
  let ticks = 0;
  async function checkRedisRestart(): Promise<void> {
    const info = await redis.info('server');
    const id = /run_id:(\w+)/.exec(info)?.[1];
    if (!id) return;
    const previous = await redis.getset(gk.redisRunId, id);
    if (previous === id) return;
    if (previous !== null || catalog.ids().length > 0) {
      log.warn(
        { event: 'redis.restarted', previous },
        'Redis run_id changed or unknown: rebuilding every sale',
      );
      void events.emit('health', 'Redis restarted or lost data: rebuilding every sale');
      for (const saleId of catalog.ids())
        if (!catalog.ended(saleId)) await redis.set(keysOf(saleId).rebuild, '1');
    }
  }

  await checkRedisRestart();
  const sweeper = startSweeper(
    env.SWEEP_INTERVAL_MS,
    async () => {
      await checkRedisRestart();
      // Sales created through another server (or found by nobody yet) join the sweep too.
      if (++ticks % 10 === 0) await catalog.refresh();
      for (const saleId of catalog.ids()) {
        await sweepSale(
          {
            redis,
            scripts,
            leaseMs: env.LEASE_MS,
            keysOf,
            publish: (m, o) => publisher.publishOrphan(m, o),
            natsConnected: () => nats.isConnected(),
            log,
            onSettled: (_s, outcome) => metrics.sweeperSettled.inc({ outcome }),
          },
          saleId,
        );
        if (await rebuild.needsRebuild(saleId)) rebuild.request(saleId);
      }
    },
    log,
  );

  return {
    env,
    log,
    metrics,
    redis,
    prisma,
    nats,
    publisher,
    catalog,
    sales,
    orders,
    limits,
    sessions,
    audit,
    rebuild,
    sampler,
    hud,
    deadLetters,
    events: {
      emit: events.emit.bind(events),
      after: (id: string) => readEvents(redis, ns, id),
      recent: (n: number) => recentEvents(redis, ns, n),
    },
    /** A subscription ends with its request or with the process (graceful shutdown). */
    subscriptionSignal(request: AbortSignal | undefined): AbortSignal {
      return request ? AbortSignal.any([request, shutdownController.signal]) : shutdownController.signal;
    },
    clientIp(req: IncomingMessage): string {
      if (env.TRUST_PROXY) {
        const xff = req.headers['x-forwarded-for'];
        // The rightmost entry is the one our trusted proxy appended; entries to its left
        // come from the client and can say anything.
        const last = (Array.isArray(xff) ? xff.join(',') : xff)?.split(',').at(-1)?.trim();
        if (last) return last;
      }
      return req.socket.remoteAddress ?? 'unknown';
    },
    async placeOrder(input: PlaceOrderInput & { ip: string }) {
      metrics.ordersReceived.inc();
      const end = metrics.placeLatency.startTimer();
      try {
        await limits.consume('order-user', input.userId);
        await limits.consume('order-ip', input.ip);
        const result = await placeOrder(placeDeps, input);
        if (result.replayed) {
          metrics.ordersReplayed.inc();
          events.coalesce(
            'duplicate',
            input.saleId,
            `duplicate order attempts on ${input.saleId} (replayed)`,
            { saleId: input.saleId },
          );
        } else metrics.ordersAccepted.inc();
        return result;
      } catch (err) {
        const reason = (err as { reason?: string }).reason ?? 'INTERNAL';
        metrics.ordersRejected.inc({ reason });
        if (reason === 'IDEMPOTENCY_IN_FLIGHT' || reason === 'IDEMPOTENCY_MISMATCH') {
          events.coalesce(
            'duplicate',
            `${input.saleId}:${reason}`,
            `duplicate order attempts on ${input.saleId} (${reason})`,
            {
              saleId: input.saleId,
            },
          );
        }
        throw err;
      } finally {
        end();
      }
    },
    async flushCache(saleId?: string) {
      if (saleId && !(await catalog.exists(saleId))) throw appError('SALE_NOT_FOUND');
      if (!saleId) await catalog.refresh();
      const ids = saleId ? [saleId] : catalog.ids();
      const results = await Promise.all(ids.map(async (id) => ({ saleId: id, r: await rebuild.run(id) })));
      const blocked = results.filter((x) => !x.r.ok);
      if (blocked.length > 0) {
        const waitingFor = blocked.flatMap((b) =>
          b.r.ok ? [] : b.r.waitingFor.map((w) => `${b.saleId}: ${w}`),
        );
        throw appError('REBUILD_BLOCKED', { retryAfterMs: 1000, waitingFor });
      }
      return { sales: results.map((x) => ({ saleId: x.saleId, remaining: x.r.ok ? x.r.remaining : 0 })) };
    },
    async readiness() {
      const checks: Record<string, unknown> = {};
      checks.redis = await stores.health.redis();
      checks.nats = stores.health.nats();
      checks.postgres = await stores.health.postgres();
      checks.breaker = publisher.breakerState();
      const ready = !shuttingDown && checks.redis === 'ok' && checks.nats === 'ok';
      return { ready, checks: { ...checks, shuttingDown } };
    },
    beginShutdown() {
      shuttingDown = true;
      shutdownController.abort();
    },
    isShuttingDown: () => shuttingDown,
    async close() {
      shuttingDown = true;
      shutdownController.abort();
      sampler.closeAll();
      publisher.stopProbing();
      await sweeper.stop();
      await heartbeat.stop();
      await events.close();
      await stores.close();
    },
  };
}

export type AppServices = Awaited<ReturnType<typeof createServices>>;

/** Test-only fault hooks between reserve and publish (off unless their variable is set). */
function faultAfterReserve(env: ServerEnv): (() => void | Promise<void>) | undefined {
  if (env.SURGE_FAULT_EXIT_AFTER_RESERVE) {
    return () => {
      process.kill(process.pid, 'SIGKILL');
    };
  }
  const delay = env.SURGE_FAULT_PUBLISH_DELAY_MS;
  if (delay > 0) return () => new Promise((r) => setTimeout(r, delay));
  return undefined;
}

/** A loop that never overlaps itself and stops cleanly. */
function startSweeper(intervalMs: number, tick: () => Promise<void>, log: Logger) {
  let stopped = false;
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (stopped || running) return; // a slow tick is never overlapped by the next one
    running = tick()
      .catch((err: unknown) => log.warn({ err }, 'sweeper tick failed'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

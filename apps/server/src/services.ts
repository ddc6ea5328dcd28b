import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { globalKeys, OrderScripts, saleKeys } from '@surge/hot-state';
import {
  connectStores,
  EventFeed,
  ensureOrdersStream,
  type Logger,
  pendingForSale,
  startHeartbeat,
} from '@surge/infra';
import { AuditLog, describeInput } from './admin/audit.ts';
import { DeadLetters } from './admin/dead-letters.ts';
import { CacheAdmin } from './admin/flush-cache.ts';
import { LoginGuard } from './auth/login-guard.ts';
import { ProofOfWork } from './auth/proof-of-work.ts';
import { Sessions } from './auth/sessions.ts';
import type { ServerEnv } from './env.ts';
import { clientIpOf } from './http/client-ip.ts';
import { readinessCheck } from './http/readiness.ts';
import { Shutdown } from './http/shutdown.ts';
import { StreamCaps } from './http/stream-caps.ts';
import { createServerMetrics, readGauges } from './infra/metrics.ts';
import { RateLimits } from './limits/rate-limits.ts';
import { AnswerCounts } from './live/answer-counts.ts';
import { HudSnapshots } from './live/hud-snapshot.ts';
import { PlaceLatency } from './live/place-latency.ts';
import { SharedSampler } from './live/shared-sampler.ts';
import { faultAfterReserve, OrderIntake } from './orders/order-intake.ts';
import { OrderQueries } from './orders/order-queries.ts';
import { OrderPublisher } from './orders/publisher.ts';
import { startSweepLoop } from './orders/sweep-loop.ts';
import { startAdmissionClock } from './queue/admission-clock.ts';
import { AdmissionTokens } from './queue/admission-tokens.ts';
import { WaitingRoom } from './queue/waiting-room.ts';
import { SaleCatalog } from './sales/catalog.ts';
import { RebuildCoordinator } from './sales/rebuild.ts';
import { RedisRestartWatch } from './sales/redis-restart.ts';
import { SalesService } from './sales/sales-service.ts';

/** What procedures reach through `ctx.services`: domain services only, never a raw client. */
export interface DomainServices {
  sessions: Sessions;
  pow: ProofOfWork;
  loginGuard: LoginGuard;
  limits: RateLimits;
  audit: AuditLog;
  sales: SalesService;
  orders: OrderQueries;
  intake: OrderIntake;
  room: WaitingRoom;
  cache: CacheAdmin;
  deadLetters: DeadLetters;
  sampler: SharedSampler;
  hud: HudSnapshots;
  events: Pick<EventFeed, 'after' | 'recent'>;
  /** A subscription ends with its request or with the process (graceful shutdown). */
  subscriptionSignal(request: AbortSignal | undefined, ...more: AbortSignal[]): AbortSignal;
}

/**
 * The composition root of one server process, wiring only: connections, services and
 * background loops. Procedures reach `domain` through `ctx.services`; nothing here knows tRPC.
 */
export async function createServices(env: ServerEnv, log: Logger) {
  const ns = env.SURGE_NAMESPACE;
  const keysOf = (saleId: string) => saleKeys(ns, saleId);
  const gk = globalKeys(ns);
  const stores = await connectStores(env, { name: `surge-server-${process.pid}`, log });
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
    declareStream: () =>
      ensureOrdersStream(nats.jsm, {
        namespace: ns,
        maxBytes: env.STREAM_MAX_BYTES,
        replicas: env.STREAM_REPLICAS,
        log,
        timeoutMs: 5000,
      }),
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
  // What the services below take, each picking the fields its constructor declares.
  const shared = {
    ...{ prisma, redis, nats, scripts, publisher, catalog, keysOf, log, events, metrics },
    ...{ namespace: ns, leaseMs: env.LEASE_MS, idempotencyTtlS: env.IDEMPOTENCY_TTL_S },
    saleIds: () => catalog.ids(),
  };
  const rebuild = new RebuildCoordinator({
    ...shared,
    pendingMessages: (saleId) => pendingForSale(nats.jsm, ns, saleId),
    isEnded: (saleId) => catalog.ended(saleId),
    timeoutMs: env.REBUILD_TIMEOUT_MS,
    onEvent: ({ saleId, result }) =>
      void events.emit(
        'rebuild',
        result.ok
          ? `sale ${saleId} rebuilt: ${result.remaining} remaining`
          : `rebuild of ${saleId} blocked: ${result.waitingFor.join(', ')}`,
        { saleId },
      ),
  });
  const limits = new RateLimits(redis, rateLimitConfig(env, gk.rateLimitPrefix), (name, key) => {
    metrics.rateLimited.inc({ limit: name });
    events.coalesce('rate-limit', name, `rate limit ${name} hit`, { limit: name, key });
  });
  const audit = new AuditLog(prisma, log, (e) => {
    const message = `${e.action}${e.ok ? '' : ' refused'}${describeInput(e.input)}`;
    void events.emit('admin', message, { action: e.action, ok: e.ok });
  });
  metrics.readGaugesFrom(() =>
    readGauges({ redis, jsm: nats.jsm, namespace: ns, saleIds: () => catalog.ids(), keysOf }),
  );
  const shutdown = new Shutdown();
  const answers = new AnswerCounts(redis, ns);
  answers.start();
  const latency = new PlaceLatency(redis, ns);
  latency.start();
  const room = new WaitingRoom({
    ...shared,
    tokens: new AdmissionTokens(env.SESSION_SECRET),
    requestRebuild: (saleId) => rebuild.request(saleId),
  });
  const domain: DomainServices = {
    sessions: new Sessions({
      redis,
      secret: env.SESSION_SECRET,
      adminPassword: env.ADMIN_PASSWORD,
      secure: env.NODE_ENV === 'production',
      adminKey: gk.adminSession,
    }),
    pow: new ProofOfWork(redis, {
      maxNumber: env.POW_MAX_NUMBER,
      cost: env.POW_COST,
      ttlS: env.POW_TTL_S,
      secret: env.SESSION_SECRET,
      usedKey: gk.powUsed,
    }),
    loginGuard: new LoginGuard(redis, {
      key: gk.loginFailures,
      windowS: Math.max(1, Math.ceil(env.ADMIN_LOGIN_WINDOW_MS / 1000)),
      freeFailures: env.ADMIN_LOGIN_GLOBAL_FREE,
      maxDelayMs: 5000,
    }),
    limits,
    audit,
    sales: new SalesService({
      ...shared,
      rebuild,
      afterRestockCommit: env.SURGE_FAULT_EXIT_AFTER_RESTOCK_COMMIT
        ? () => process.kill(process.pid, 'SIGKILL')
        : undefined,
    }),
    orders: new OrderQueries(shared),
    intake: new OrderIntake({
      ...shared,
      rebuild,
      limits,
      room,
      answers,
      latency,
      afterReserve: faultAfterReserve(env),
      ipUnitLimit: env.IP_UNIT_LIMIT,
    }),
    room,
    cache: new CacheAdmin({ catalog, rebuild }),
    deadLetters: new DeadLetters(shared),
    sampler: new SharedSampler((err, key) => log.warn({ err, key }, 'live sampler read failed')),
    hud: new HudSnapshots({ ...shared, breaker: () => publisher.breakerState() }),
    events,
    subscriptionSignal: (request, ...more) => shutdown.subscriptionSignal(request, ...more),
  };

  const heartbeat = startHeartbeat(
    redis,
    { namespace: ns, kind: 'server', id: instanceId, intervalMs: 1000 },
    () => ({
      state: shutdown.begun ? 'stopping' : publisher.acceptsNewOrders() ? 'running' : 'queue-unavailable',
      detail: { breaker: publisher.breakerState(), nats: nats.isConnected(), port: env.PORT },
    }),
  );
  const redisRestart = new RedisRestartWatch({ ...shared, runIdKey: gk.redisRunId });
  await redisRestart.check();
  const sweeper = startSweepLoop({
    ...shared,
    intervalMs: env.SWEEP_INTERVAL_MS,
    rebuild,
    redisRestart,
    sweep: {
      ...shared,
      publish: (m, o) => publisher.publishOrphan(m, o),
      natsConnected: () => nats.isConnected(),
      onSettled: (_s, outcome) => metrics.sweeperSettled.inc({ outcome }),
    },
  });

  const admissionClock = startAdmissionClock({ catalog, room, intervalMs: env.ADMISSION_TICK_MS, log });
  const streams = new StreamCaps(
    {
      maxPerIp: env.SSE_MAX_PER_IP,
      maxDurationMs: env.SSE_MAX_DURATION_S * 1000,
      leaseMs: env.SSE_LEASE_S * 1000,
    },
    {
      redis,
      namespace: ns,
      instanceId,
      onError: (err) => log.warn({ err }, 'SSE stream count in Redis failed'),
    },
  );

  return {
    env,
    log,
    metrics,
    domain,
    /** The raw connections, for tests only: procedures get `domain`, never these. */
    stores,
    readiness: readinessCheck({
      health: stores.health,
      breakerState: () => publisher.breakerState(),
      shuttingDown: () => shutdown.begun,
    }),
    clientIp: clientIpOf(env.TRUST_PROXY),
    /** SSE streams per IP group across servers, and their longest life (http/stream-caps.ts). */
    streams,
    isShuttingDown: () => shutdown.begun,
    beginShutdown: () => shutdown.begin(),
    async close() {
      shutdown.begin();
      domain.sampler.closeAll();
      await publisher.stopProbing();
      await sweeper.stop();
      await admissionClock.stop();
      await streams.close();
      await answers.stop();
      await latency.stop();
      await heartbeat.stop();
      await events.close();
      await stores.close();
    },
  };
}

export type AppServices = Awaited<ReturnType<typeof createServices>>;

function rateLimitConfig(env: ServerEnv, prefix: string) {
  return {
    perUser: env.RATE_LIMIT_PER_USER,
    perIp: env.RATE_LIMIT_PER_IP,
    readsPerIp: env.RATE_LIMIT_READS_PER_IP,
    windowMs: env.RATE_LIMIT_WINDOW_MS,
    adminLogin: env.ADMIN_LOGIN_LIMIT,
    adminLoginWindowMs: env.ADMIN_LOGIN_WINDOW_MS,
    prefix,
  };
}

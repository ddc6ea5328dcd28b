import { randomUUID } from 'node:crypto';
import { isDatabaseUnavailable, type PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import { isRedisUnavailable, type Logger } from '@surge/infra';
import type { Redis } from 'ioredis';
import { expireAtSec, hotFields, lockSaleRow } from './hot-state.ts';

/**
 * docs/architecture.md#the-rebuild: rebuild a sale's hot state from PostgreSQL. One rebuild per
 * sale at a time (a lease in Redis); the sale answers SALE_REBUILDING meanwhile; it waits until
 * nothing of the sale is unsettled (open reservation records, messages in its subject), then —
 * holding the sale row FOR UPDATE — advances the epoch, reads the truth and writes it to Redis in
 * one Lua step that applies only while the lease is ours.
 */
export type RebuildResult = { ok: true; remaining: number } | { ok: false; waitingFor: string[] };

export interface RebuildDeps {
  prisma: PrismaClient;
  redis: Redis;
  scripts: OrderScripts;
  keysOf(saleId: string): SaleKeys;
  /** An ended sale takes no more orders: its hot state is never rebuilt (its keys expire). */
  isEnded(saleId: string): boolean;
  /** Messages of the sale still in the stream; throws when NATS cannot tell. */
  pendingMessages(saleId: string): Promise<number>;
  idempotencyTtlS: number;
  timeoutMs: number;
  log: Logger;
  onEvent?: (e: { saleId: string; result: RebuildResult }) => void;
}

export class RebuildCoordinator {
  private readonly inflight = new Map<string, Promise<RebuildResult>>();

  constructor(private readonly deps: RebuildDeps) {}

  /** Fire-and-forget: start a rebuild unless one already runs in this process. */
  request(saleId: string): void {
    if (this.inflight.has(saleId) || this.deps.isEnded(saleId)) return;
    this.run(saleId).catch((err: unknown) => this.deps.log.error({ err, saleId }, 'rebuild failed'));
  }

  /** Rebuild now, or join the one in progress here; waits at most `waitMs` for the backlog. */
  run(saleId: string, waitMs = this.deps.timeoutMs): Promise<RebuildResult> {
    const running = this.inflight.get(saleId);
    if (running) return running;
    const p = this.rebuild(saleId, waitMs).finally(() => this.inflight.delete(saleId));
    this.inflight.set(saleId, p);
    return p;
  }

  /** Whether the sale needs a rebuild that nobody runs (called by every server's sweeper). */
  async needsRebuild(saleId: string): Promise<boolean> {
    if (this.deps.isEnded(saleId)) return false;
    const k = this.deps.keysOf(saleId);
    const [hot, flag, lease] = await Promise.all([
      this.deps.redis.exists(k.hot),
      this.deps.redis.exists(k.rebuild),
      this.deps.redis.exists(k.rebuildLease),
    ]);
    return (hot === 0 || flag === 1) && lease === 0;
  }

  private async rebuild(saleId: string, waitMs: number): Promise<RebuildResult> {
    const { redis, keysOf, log } = this.deps;
    const k = keysOf(saleId);
    const token = randomUUID();
    const started = Date.now();
    const got = await redis.set(k.rebuildLease, token, 'PX', LEASE_MS, 'NX');
    if (got !== 'OK') return this.awaitOther(saleId, k, started + waitMs, waitMs);
    await redis.set(k.rebuild, '1');
    log.info({ saleId, event: 'rebuild.start' }, 'sale rebuilding');
    // The lease is short and renewed while this rebuild runs: a rebuilder killed half-way holds
    // the sale for at most LEASE_MS, not for its whole wait (which held it tens of seconds).
    const renew = setInterval(() => {
      renewLease(redis, k.rebuildLease, token).catch(() => undefined);
    }, LEASE_MS / 3);
    renew.unref?.();

    let result: RebuildResult;
    try {
      // The epoch as this lease found it: the advance below applies only from it, so a rebuilder
      // that lost its lease (stopped past it) cannot advance the epoch after another one wrote.
      const epoch = await this.currentEpoch(saleId);
      const waitingFor = await this.waitForBacklog(saleId, k, started + waitMs);
      result =
        waitingFor.length > 0
          ? { ok: false, waitingFor }
          : await this.writeFromDatabase(saleId, k, token, epoch);
    } catch (err) {
      log.warn({ err, saleId }, 'rebuild could not complete');
      result = { ok: false, waitingFor: [describe(err)] };
    } finally {
      clearInterval(renew);
    }
    if (!result.ok) {
      // The sale stays `rebuilding` (the flag); the lease goes so any server's sweeper retries.
      await releaseLease(redis, k.rebuildLease, token).catch(() => undefined);
      log.warn({ saleId, event: 'rebuild.blocked', waitingFor: result.waitingFor }, 'rebuild blocked');
    } else {
      const w = this.waited.get(saleId);
      log.info(
        {
          saleId,
          event: 'rebuild.done',
          remaining: result.remaining,
          waitedMs: w?.ms,
          waitedFor: w?.on,
          ms: Date.now() - started,
        },
        'sale rebuilt',
      );
    }
    this.deps.onEvent?.({ saleId, result });
    return result;
  }

  /** What the last rebuild of each sale waited for, and how long (logged with rebuild.done). */
  private readonly waited = new Map<string, { ms: number; on: string[] }>();

  private async waitForBacklog(saleId: string, k: SaleKeys, deadline: number): Promise<string[]> {
    const since = Date.now();
    const on = new Set<string>();
    /** Since when every open record has been an orphan (see below); null: not all are. */
    let orphanedSince: number | null = null;
    for (;;) {
      const waitingFor: string[] = [];
      let open = await this.deps.redis.scard(k.open);
      let pending: number | null = null;
      try {
        pending = await this.deps.pendingMessages(saleId);
      } catch {
        waitingFor.push('NATS');
      }
      // A `published` record's message stays in the stream until the worker acks it, and the
      // worker acks only after finishing the record; so with the sale's subject empty, a
      // `published` record is an orphan that no message will ever settle — a Redis brought back
      // from a snapshot or an append-only file older than its last writes. The rewrite below
      // replaces it with what PostgreSQL holds; waiting for it would block the sale for good.
      // Only once it has stayed so for ORPHAN_GRACE_MS (the subject read and the records read
      // are two round trips apart).
      if (open > 0 && pending === 0) {
        const orphans = await publishedRecords(this.deps.redis, k);
        if (orphans.length === open) {
          orphanedSince ??= Date.now();
          if (Date.now() - orphanedSince >= ORPHAN_GRACE_MS) {
            this.deps.log.warn(
              { saleId, orderIds: orphans.slice(0, 20), count: orphans.length, event: 'rebuild.orphans' },
              'published reservations without a message (Redis restored from an older state): rebuilt from PostgreSQL',
            );
            open = 0;
          }
        } else orphanedSince = null;
      } else orphanedSince = null;
      if (open > 0) waitingFor.push(`${open} unsettled reservation(s)`);
      if (pending !== null && pending > 0)
        waitingFor.push(`${pending} message(s) in the orders stream (worker)`);
      for (const w of waitingFor) on.add(w.replace(/^\d+ /, ''));
      if (waitingFor.length === 0 || Date.now() >= deadline) {
        this.waited.set(saleId, { ms: Date.now() - since, on: [...on] });
        return waitingFor;
      }
      await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
  }

  private async currentEpoch(saleId: string): Promise<number | null> {
    const rows = await this.deps.prisma.$queryRaw<{ epoch: number }[]>`
      SELECT epoch FROM sales WHERE id = ${saleId}`;
    return rows[0]?.epoch ?? null;
  }

  private async writeFromDatabase(
    saleId: string,
    k: SaleKeys,
    token: string,
    seen: number | null,
  ): Promise<RebuildResult> {
    const { prisma, scripts, idempotencyTtlS } = this.deps;
    if (seen === null) return { ok: false, waitingFor: ['sale row (deleted?)'] };
    // The epoch advances in its own, committed transaction before Redis is rewritten: if this
    // process dies after the Redis write, PostgreSQL already fences the old epoch's messages.
    // Only from the epoch seen under the lease: another rebuild advanced it → this one lost.
    const bumped = await prisma.$executeRaw`
      UPDATE sales SET epoch = epoch + 1, updated_at = now() WHERE id = ${saleId} AND epoch = ${seen}`;
    if (bumped === 0) throw new Error('rebuild lease lost (another rebuild advanced the epoch)');
    return prisma.$transaction(
      async (tx) => {
        const row = await lockSaleRow(tx, saleId);
        if (!row) return { ok: false, waitingFor: ['sale row (deleted?)'] };
        const epoch = row.epoch;
        const orders = await tx.$queryRaw<
          {
            id: string;
            userId: string;
            key: string;
            quantity: number;
            status: string;
            corr: string;
            epoch: number;
          }[]
        >`SELECT id, user_id AS "userId", idempotency_key AS key, quantity, status::text AS status,
                 correlation_id AS corr, epoch
          FROM orders WHERE sale_id = ${saleId}`;
        const users: Record<string, number> = {};
        let live = 0;
        for (const o of orders) {
          if (o.status === 'PENDING' || o.status === 'CONFIRMED') {
            live += o.quantity;
            users[o.userId] = (users[o.userId] ?? 0) + o.quantity;
          }
        }
        const remaining = row.totalStock - live;
        const written = await scripts.writeHot(k, {
          token,
          hot: hotFields({ ...row, epoch }, remaining, idempotencyTtlS),
          users,
          orders: orders.map((o) => [o.id, o.userId, o.key, o.quantity, o.status, o.corr, o.epoch]),
          expireAtSec: expireAtSec(row.endsAt, idempotencyTtlS),
        });
        // Losing the lease means another rebuild took over (it advances the epoch again).
        if (written !== 1) throw new Error('rebuild lease lost');
        return { ok: true, remaining } as const;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }

  private async awaitOther(
    saleId: string,
    k: SaleKeys,
    deadline: number,
    waitMs: number,
  ): Promise<RebuildResult> {
    for (;;) {
      const [hot, flag, lease] = await Promise.all([
        this.deps.redis.hget(k.hot, 'remaining'),
        this.deps.redis.exists(k.rebuild),
        this.deps.redis.exists(k.rebuildLease),
      ]);
      if (hot !== null && flag === 0) return { ok: true, remaining: Number(hot) };
      // The other rebuilder stopped renewing its lease (killed, or it gave up): take over.
      if (lease === 0 && Date.now() < deadline)
        return this.rebuild(saleId, Math.max(0, Math.min(waitMs, deadline - Date.now())));
      if (Date.now() >= deadline) return { ok: false, waitingFor: ['another rebuild in progress'] };
      await sleep(100);
    }
  }
}

/** How long a rebuild's lease lives unless renewed (every third of it while the rebuild runs). */
const LEASE_MS = 3000;
/** How long open records must stay orphans (published, no message left) before a rebuild passes them. */
const ORPHAN_GRACE_MS = 1000;

/** The ids of the sale's open records in state `published`. */
async function publishedRecords(redis: Redis, k: SaleKeys): Promise<string[]> {
  const ids = await redis.smembers(k.open);
  if (ids.length === 0) return [];
  const raw = await redis.hmget(k.res, ...ids);
  return ids.filter((_, i) => {
    try {
      return (JSON.parse(raw[i] ?? 'null') as { s?: string } | null)?.s === 'published';
    } catch {
      return false;
    }
  });
}

async function renewLease(redis: Redis, key: string, token: string): Promise<void> {
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
    1,
    key,
    token,
    LEASE_MS,
  );
}

async function releaseLease(redis: Redis, key: string, token: string): Promise<void> {
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    1,
    key,
    token,
  );
}

/** What a rebuild that failed waits for: PostgreSQL when it is unreachable, else the error. */
function describe(err: unknown): string {
  // Socket errors read alike for both stores: one the Redis classifier claims is not PostgreSQL.
  if (isDatabaseUnavailable(err) && !isRedisUnavailable(err)) return 'PostgreSQL';
  return String((err as Error)?.message ?? err).slice(0, 200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

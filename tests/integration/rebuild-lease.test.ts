import { createPrisma } from '@surge/db';
import { OrderScripts, saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RebuildCoordinator } from '../../apps/server/src/sales/rebuild.ts';
import {
  cleanupNamespace,
  createTestDatabase,
  newNamespace,
  SHARED,
  type TestDatabase,
} from '../support/services.ts';

/**
 * docs/architecture.md#the-rebuild: the rebuild's lease is short and renewed, so a rebuilder
 * killed half-way does not hold its sale for its whole wait (the fault run saw tens of seconds
 * of SALE_REBUILDING), and a rebuilder that lost its lease cannot advance the epoch after
 * another one rebuilt (the worker would drop every later message as stale).
 */
describe('rebuild lease', () => {
  const ns = newNamespace();
  let db: TestDatabase;
  let prisma: ReturnType<typeof createPrisma>;
  let redis: Redis;
  const log = pino({ level: 'silent' });

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = createPrisma(db.url);
    redis = new Redis(SHARED.redis);
  });
  afterAll(async () => {
    await cleanupNamespace(ns).catch(() => undefined);
    redis.disconnect();
    await prisma.$disconnect();
    await db.drop();
  });

  async function sale(id: string) {
    await prisma.$executeRaw`
      INSERT INTO sales (id, name, price_cents, total_stock, per_user_limit, starts_at, ends_at, updated_at)
      VALUES (${id}, ${id}, 100, 10, 2, now() - interval '1 minute', now() + interval '1 hour', now())`;
    const k = saleKeys(ns, id);
    await redis.set(k.rebuild, '1');
    return k;
  }
  /** A server's coordinator; `pending` stands for the count of the sale's messages in NATS. */
  const coordinator = (pending: () => Promise<number>, timeoutMs = 10_000) =>
    new RebuildCoordinator({
      prisma,
      redis,
      scripts: new OrderScripts(redis),
      keysOf: (id) => saleKeys(ns, id),
      isEnded: () => false,
      pendingMessages: pending,
      idempotencyTtlS: 600,
      timeoutMs,
      log,
    });
  const epochOf = async (id: string) =>
    (await prisma.$queryRaw<{ epoch: number }[]>`SELECT epoch FROM sales WHERE id = ${id}`)[0]?.epoch;

  it('takes over the sale from a rebuilder killed half-way once its lease lapses, within its own wait', async () => {
    const k = await sale('killed');
    // What a killed rebuilder leaves: its lease (never renewed again) and the rebuild flag.
    await redis.set(k.rebuildLease, 'dead-rebuilder', 'PX', 3000);
    const result = await coordinator(async () => 0).run('killed');
    expect(result).toEqual({ ok: true, remaining: 10 });
    expect(await redis.exists(k.rebuild)).toBe(0);
  });

  it('a live rebuilder renews its lease: another server waits instead of taking over', async () => {
    const k = await sale('alive');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = coordinator(async () => {
      await gate;
      return 0;
    }).run('alive');
    while ((await redis.exists(k.rebuildLease)) === 0) await new Promise((r) => setTimeout(r, 20));
    // Waits past the lease's 3 s: only renewals keep it.
    const second = await coordinator(async () => 0, 4500).run('alive');
    expect(second).toEqual({ ok: false, waitingFor: ['another rebuild in progress'] });
    release();
    expect(await first).toEqual({ ok: true, remaining: 10 });
  });

  it('a rebuilder that lost its lease cannot advance the epoch after another one rebuilt', async () => {
    const k = await sale('stale');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const stale = coordinator(async () => {
      await gate;
      return 0;
    }).run('stale');
    while ((await redis.exists(k.rebuildLease)) === 0) await new Promise((r) => setTimeout(r, 20));
    // Its lease lapses (the process was stopped past it): another server rebuilds the sale.
    await redis.del(k.rebuildLease);
    expect(await coordinator(async () => 0).run('stale')).toEqual({ ok: true, remaining: 10 });
    const rebuiltEpoch = await epochOf('stale');
    expect(await redis.hget(k.hot, 'epoch')).toBe(String(rebuiltEpoch));
    // It wakes: its rebuild fails, and the epoch stays the one the hot state carries.
    release();
    const late = await stale;
    expect(late.ok).toBe(false);
    expect(await epochOf('stale')).toBe(rebuiltEpoch);
    expect(await redis.hget(k.hot, 'epoch')).toBe(String(rebuiltEpoch));
  });
});

import { OrderScripts, type SaleKeys, saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SaleRow } from '../../apps/server/src/sales/hot-state.ts';
import { saleRow, writeSaleHot } from '../support/hot-sale.ts';
import { cleanupNamespace, newNamespace, SHARED } from '../support/services.ts';

/**
 * The Lua steps (docs/architecture.md#the-reservation-record) judged directly against a real Redis:
 * each decision, each compare-and-set transition, and the same call run twice (ioredis re-sends
 * after reconnects).
 */
describe('reservation scripts on real Redis', () => {
  const ns = newNamespace();
  let redis: Redis;
  let scripts: OrderScripts;
  let k: SaleKeys;
  let n = 0;

  const sale = (
    o: Partial<{ stock: number; limit: number; startsAt: Date; endsAt: Date; paused: boolean }> = {},
  ) =>
    saleRow({
      id: 's',
      name: 'S',
      totalStock: o.stock ?? 10,
      perUserLimit: o.limit ?? 3,
      epoch: 7,
      ...(o.startsAt ? { startsAt: o.startsAt } : {}),
      ...(o.endsAt ? { endsAt: o.endsAt } : {}),
      paused: o.paused ?? false,
    });
  /** Writes a sale's hot state as the rebuild would, with no users or orders yet. */
  const writeSale = (row: SaleRow) => writeSaleHot(scripts, k, row);
  const init = (o: Parameters<typeof sale>[0] = {}) => writeSale(sale(o));
  const reserve = (
    o: Partial<{
      user: string;
      key: string;
      qty: number;
      orderId: string;
      replayOnly: boolean;
      token: string;
    }> = {},
  ) =>
    scripts.reserve(k, {
      userId: o.user ?? 'u1',
      idempotencyKey: o.key ?? `key-${++n}-xxxx`,
      quantity: o.qty ?? 1,
      orderId: o.orderId ?? `order-${n}`,
      token: o.token ?? 'tok',
      leaseMs: 5000,
      replayOnly: o.replayOnly ?? false,
      correlationId: 'corr',
    });

  beforeAll(async () => {
    redis = new Redis(SHARED.redis);
    scripts = new OrderScripts(redis);
  });
  beforeEach(async () => {
    k = saleKeys(ns, `s${++n}`);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupNamespace(ns);
  });

  it('reserves: decrements stock, counts the user, writes key, record, outbox and open set', async () => {
    await init();
    const r = await reserve({ qty: 2, key: 'k-reserve-1', orderId: 'o1' });
    expect(r[0]).toBe('RESERVED');
    expect(r.slice(1, 3)).toEqual(['o1', '7']);
    expect(await redis.hget(k.hot, 'remaining')).toBe('8');
    expect(await redis.hget(k.users, 'u1')).toBe('2');
    expect(await redis.hget(k.idem, 'u1 k-reserve-1')).toBe('o1');
    expect(JSON.parse((await redis.hget(k.res, 'o1')) ?? '{}')).toMatchObject({
      s: 'reserved',
      q: 2,
      t: 'tok',
      e: 7,
    });
    expect(await redis.zscore(k.outbox, 'o1')).not.toBeNull();
    expect(await redis.sismember(k.open, 'o1')).toBe(1);
    expect(await redis.ttl(k.res)).toBeGreaterThan(0);
  });

  it('the same call run twice (same orderId) answers the same reservation and takes stock once', async () => {
    await init();
    const a = await reserve({ key: 'k-twice-0001', orderId: 'o-twice' });
    const b = await reserve({ key: 'k-twice-0001', orderId: 'o-twice' });
    expect(a[0]).toBe('RESERVED');
    expect(b.slice(0, 3)).toEqual(a.slice(0, 3));
    expect(await redis.hget(k.hot, 'remaining')).toBe('9');
    expect(await redis.hget(k.users, 'u1')).toBe('1');
  });

  it('an existing key: 409-in-flight while reserved, mismatch on other input, replay once published', async () => {
    await init();
    await reserve({ key: 'k-existing-1', orderId: 'o-first' });
    expect(await reserve({ key: 'k-existing-1', orderId: 'o-second' })).toEqual(['IN_FLIGHT', 'o-first']);
    expect((await reserve({ key: 'k-existing-1', orderId: 'o-third', qty: 2 }))[0]).toBe('MISMATCH');
    expect(await scripts.markPublished(k, 'o-first')).toBe('published');
    expect(await reserve({ key: 'k-existing-1', orderId: 'o-fourth' })).toEqual([
      'REPLAY',
      'o-first',
      'PENDING',
      'corr',
    ]);
    // A replay is answered even in replay-only mode (breaker open).
    expect((await reserve({ key: 'k-existing-1', orderId: 'o-fifth', replayOnly: true }))[0]).toBe('REPLAY');
  });

  it('judges window, pause, limit and stock, in that order, with no partial fills', async () => {
    await init({ stock: 3, limit: 2 });
    expect((await reserve({ replayOnly: true }))[0]).toBe('QUEUE_UNAVAILABLE');
    expect((await reserve({ qty: 3 }))[0]).toBe('USER_LIMIT');
    expect((await reserve({ qty: 2 }))[0]).toBe('RESERVED');
    expect((await reserve({ qty: 1 }))[0]).toBe('USER_LIMIT');
    expect((await reserve({ user: 'u2', qty: 2 }))[0]).toBe('SOLD_OUT');
    expect((await reserve({ user: 'u2', qty: 1 }))[0]).toBe('RESERVED');
    expect(await redis.hget(k.hot, 'remaining')).toBe('0');
    await redis.hset(k.hot, 'paused', '1');
    expect((await reserve({ user: 'u3' }))[0]).toBe('SALE_PAUSED');
    k = saleKeys(ns, `s${++n}`);
    await init({ startsAt: new Date(Date.now() + 60_000) });
    expect((await reserve())[0]).toBe('SALE_NOT_STARTED');
    k = saleKeys(ns, `s${++n}`);
    await init({ startsAt: new Date(Date.now() - 120_000), endsAt: new Date(Date.now() - 60_000) });
    expect((await reserve())[0]).toBe('SALE_ENDED');
  });

  it('a missing hot state or a rebuild flag answers REBUILDING and never creates a stock key', async () => {
    expect((await reserve())[0]).toBe('REBUILDING');
    expect(await redis.exists(k.hot, k.users, k.idem, k.res)).toBe(0);
    await init();
    await redis.set(k.rebuild, '1');
    expect((await reserve())[0]).toBe('REBUILDING');
  });

  it('a key whose record is missing is INCONSISTENT (Redis lost data)', async () => {
    await init();
    await reserve({ key: 'k-lost-record', orderId: 'o-lost' });
    await redis.hdel(k.res, 'o-lost');
    expect(await reserve({ key: 'k-lost-record', orderId: 'o-other' })).toEqual(['INCONSISTENT', 'o-lost']);
  });

  it('release gives stock, quota and key back exactly once, only with the lease token', async () => {
    await init();
    await reserve({ key: 'k-release-01', orderId: 'o-rel', qty: 2, token: 'lease-a' });
    expect(await scripts.release(k, 'o-rel', 'lease-b')).toEqual(['LEASE_LOST']);
    expect(await scripts.release(k, 'o-rel', 'lease-a')).toEqual(['released']);
    expect(await scripts.release(k, 'o-rel', 'lease-a')).toEqual(['released', 'PENDING']);
    expect(await redis.hget(k.hot, 'remaining')).toBe('10');
    expect(await redis.hget(k.users, 'u1')).toBeNull();
    expect(await redis.hget(k.idem, 'u1 k-release-01')).toBeNull();
    expect(await redis.sismember(k.open, 'o-rel')).toBe(0);
    // A published record cannot be released: the worker owns it now.
    await reserve({ key: 'k-release-02', orderId: 'o-pub', token: 'lease-c' });
    await scripts.markPublished(k, 'o-pub');
    expect(await scripts.release(k, 'o-pub', 'lease-c')).toEqual(['published', 'PENDING']);
    expect(await redis.hget(k.hot, 'remaining')).toBe('9');
  });

  it('release never recreates a hot state that Redis lost', async () => {
    await init();
    await reserve({ key: 'k-release-03', orderId: 'o-gone', token: 'lease' });
    await redis.del(k.hot, k.users);
    expect(await scripts.release(k, 'o-gone', 'lease')).toEqual(['released']);
    expect(await redis.exists(k.hot, k.users)).toBe(0);
  });

  it('take-lease hands an expired reserved record to exactly one sweeper', async () => {
    await init();
    await reserve({ key: 'k-lease-0001', orderId: 'o-lease', token: 'first' });
    expect(await scripts.takeLease(k, 'o-lease', 'sweeper-1', 5000)).toBeNull(); // not expired yet
    const rec = JSON.parse((await redis.hget(k.res, 'o-lease')) ?? '{}');
    await redis.hset(k.res, 'o-lease', JSON.stringify({ ...rec, x: Date.now() - 1 }));
    const [a, b] = await Promise.all([
      scripts.takeLease(k, 'o-lease', 'sweeper-1', 5000),
      scripts.takeLease(k, 'o-lease', 'sweeper-2', 5000),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await scripts.release(k, 'o-lease', 'first')).toEqual(['LEASE_LOST']);
  });

  it('mark-published reports a record Redis lost as GONE', async () => {
    await init();
    expect(await scripts.markPublished(k, 'never-existed')).toBe('GONE');
  });

  it('admin updates: pause/resume/restock apply to an existing hot state; restock refused while rebuilding', async () => {
    await init({ stock: 5 });
    // Restock carries the new absolute total: applied once, however often or late it arrives.
    expect(await scripts.adminUpdate(k, 'restock', 15)).toBe('OK');
    expect(await redis.hmget(k.hot, 'total', 'remaining')).toEqual(['15', '15']);
    expect(await scripts.adminUpdate(k, 'restock', 15)).toBe('OK');
    expect(await scripts.adminUpdate(k, 'restock', 12)).toBe('OK');
    expect(await redis.hmget(k.hot, 'total', 'remaining')).toEqual(['15', '15']);
    expect(await scripts.adminUpdate(k, 'pause')).toBe('OK');
    expect(await redis.hget(k.hot, 'paused')).toBe('1');
    await redis.set(k.rebuild, '1');
    expect(await scripts.adminUpdate(k, 'restock', 1)).toBe('REBUILDING');
    await redis.del(k.hot);
    expect(await scripts.adminUpdate(k, 'resume')).toBe('MISSING');
    expect(await redis.exists(k.hot)).toBe(0);
  });

  it('every key a step writes gets the sale expiry, and a moved expiry reaches it at its next write', async () => {
    await writeSale({ ...sale(), queueAdmitPerSecond: 5, queueTokenTtlS: 300, queueOutstandingFactor: 2 });
    const expAt = Number(await redis.hget(k.hot, 'expAt'));
    const expiry = async (keys: string[]) => Promise.all(keys.map((key) => redis.call('EXPIRETIME', key)));
    const buy = async (user: string, orderId: string) =>
      expect(
        await scripts.reserve(k, {
          userId: user,
          idempotencyKey: `k-${orderId}-0001`,
          quantity: 1,
          orderId,
          token: 'tok',
          leaseMs: 5000,
          replayOnly: false,
          correlationId: 'corr',
          tokenExpiresMs: Date.now() + 60_000,
        }),
      ).toEqual(['RESERVED', orderId, '7', expect.any(String)]);
    await scripts.queueJoin(k, 'ua', 0.5);
    await scripts.admit(k);
    await buy('ua', 'o-exp-1');
    const written = [k.qTix, k.qLine, k.qWin, k.users, k.idem, k.res, k.outbox, k.open];
    expect(await expiry(written)).toEqual(written.map(() => expAt));
    // An admin moved endsAt (the rebuild rewrites expAt): each key follows at its next write.
    await redis.hset(k.hot, 'expAt', String(expAt + 100));
    await scripts.queueJoin(k, 'ub', 0.5);
    expect(await expiry([k.qTix, k.qLine])).toEqual([expAt + 100, expAt + 100]);
    await buy('ub', 'o-exp-2');
    const reserved = [k.users, k.idem, k.res, k.outbox, k.open];
    expect(await expiry(reserved)).toEqual(reserved.map(() => expAt + 100));
  });

  it('queue-read-many reads the room and many places at once, each as queue-read reads it alone', async () => {
    await writeSale({ ...sale(), queueAdmitPerSecond: 5, queueTokenTtlS: 300, queueOutstandingFactor: 2 });
    for (const [i, u] of ['a', 'b', 'c'].entries()) await scripts.queueJoin(k, u, i / 10);
    await scripts.admit(k);
    const users = ['c', 'nobody', 'a', 'b'];
    const many = await scripts.queueReadMany(k, users);
    expect(many.places[1]).toBeNull();
    for (const [i, u] of users.entries()) {
      const one = await scripts.queueRead(k, u);
      if (one === 'UNQUEUED' || one === 'REBUILDING') throw new Error(String(one));
      expect(many.places[i]).toEqual(one.ticket);
      expect({ ...many.room, nowMs: 0 }).toEqual({ ...one, nowMs: 0, ticket: null });
    }
    expect(many.places.map((p) => p?.rank)).toEqual([2, undefined, 0, 1]);
    expect(many.places[2]?.admittedAtMs).toEqual(expect.any(Number));
    const empty = await scripts.queueReadMany(k, []);
    expect(empty.places).toEqual([]);
  });
});

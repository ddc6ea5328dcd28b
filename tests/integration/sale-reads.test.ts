import { saleKeys } from '@surge/hot-state';
import pg from 'pg';
import { afterEach, describe, expect, vi } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { createSale } from '../support/stack.ts';

/**
 * README.md#security / issue 10 H2: no read is free for PostgreSQL either. `sale.list` reads the
 * sales table at most once a second per server (not once per call), and an ended sale whose
 * Redis keys have expired is summed over its orders once — its final count is stored in
 * `sales.final_remaining` and kept in memory — not on every `sale.get`. Every SQL statement
 * the in-process servers send through `pg` is counted by its text.
 */
const it = stackTest({ server: { IDEMPOTENCY_TTL_S: '1' } });

type Counted = { sums: number; saleReads: number; all: number };

/** Counts the statements sent through `pg` (the Prisma adapter's driver) until `stop()`. */
function countQueries(): Counted & { stop(): void } {
  const counted = { sums: 0, saleReads: 0, all: 0, stop: () => spy.mockRestore() };
  const query = pg.Client.prototype.query;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const first = args[0] as string | { text?: string };
    const text = (typeof first === 'string' ? first : first?.text) ?? '';
    counted.all++;
    if (/\bSUM\(/i.test(text) && /"orders"/.test(text)) counted.sums++;
    if (/FROM "public"\."sales"/.test(text)) counted.saleReads++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query);
  return counted;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sale reads and PostgreSQL (H2)', () => {
  it('an ended sale without Redis state is summed once, stored, and then read without SUM by every server', async ({
    stack,
    server,
    admin,
  }) => {
    const endsAt = new Date(Date.now() + 1500).toISOString();
    await createSale(admin, { id: 'ended-h2', totalStock: 100, perUserLimit: 10, endsAt });
    const { prisma, redis } = server.services.stores;
    const hotKey = saleKeys(stack.ns, 'ended-h2').hot;
    const order = (n: number, status: 'CONFIRMED' | 'PENDING', quantity: number) => ({
      id: `o-h2-${n}`,
      saleId: 'ended-h2',
      userId: `u-${n}`,
      quantity,
      idempotencyKey: `key-h2-${n}`,
      status,
      correlationId: `c-${n}`,
      epoch: 1,
    });
    await prisma.order.createMany({ data: [order(1, 'CONFIRMED', 2), order(2, 'PENDING', 1)] });
    // The sale ends, and IDEMPOTENCY_TTL_S=1 later its keys expire by themselves.
    for (let i = 0; i < 100 && (await redis.exists(hotKey)) === 1; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await redis.exists(hotKey)).toBe(0);

    const shopper = new TestClient(server.url);
    const remaining = async (c = shopper) => {
      const r = await c.query<{ remaining: number; state: string }>('sale.get', { saleId: 'ended-h2' });
      expect(r.body.result?.data.state).toBe('ended');
      return r.body.result?.data.remaining;
    };

    // A pending order could still fail and give its unit back: not final, summed each time.
    let counted = countQueries();
    for (let i = 0; i < 3; i++) expect(await remaining()).toBe(97);
    counted.stop();
    expect(counted.sums).toBe(3);
    expect((await prisma.sale.findUnique({ where: { id: 'ended-h2' } }))?.finalRemaining).toBeNull();

    await prisma.order.update({ where: { id: 'o-h2-2' }, data: { status: 'FAILED_PAYMENT' } });
    counted = countQueries();
    for (let i = 0; i < 20; i++) expect(await remaining()).toBe(98);
    for (let i = 0; i < 20; i++) {
      const list = await shopper.query<{ id: string; remaining: number }[]>('sale.list');
      expect(list.body.result?.data.find((s) => s.id === 'ended-h2')?.remaining).toBe(98);
    }
    counted.stop();
    expect(counted.sums, 'SUM over the orders of an ended sale').toBe(1);
    // sale.get: the row once; sale.list: at most one catalog read a second, not one per call
    // (40 calls take a few seconds at most, even on a loaded machine).
    expect(counted.saleReads).toBeLessThan(10);
    expect((await prisma.sale.findUnique({ where: { id: 'ended-h2' } }))?.finalRemaining).toBe(98);

    // Another server (its own memory) reads the stored count: no SUM at all.
    const other = await stack.server({ IDEMPOTENCY_TTL_S: '1' });
    counted = countQueries();
    for (let i = 0; i < 10; i++) expect(await remaining(new TestClient(other.url))).toBe(98);
    counted.stop();
    expect(counted.sums).toBe(0);
    expect(counted.saleReads).toBeLessThanOrEqual(2);
  });

  it('sale.list: a flood of calls reads the sales table about once a second, and a new sale still shows', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'list-a', totalStock: 10, perUserLimit: 1 });
    const shopper = new TestClient(server.url);
    const counted = countQueries();
    const calls = 50;
    for (let i = 0; i < calls; i++) expect((await shopper.query('sale.list')).status).toBe(200);
    counted.stop();
    expect(counted.sums).toBe(0);
    expect(counted.saleReads).toBeLessThan(calls / 5);
    // A sale created through this server is listed at once; through another, within a second.
    await createSale(admin, { id: 'list-b', totalStock: 10, perUserLimit: 1 });
    const ids = (await shopper.query<{ id: string }[]>('sale.list')).body.result?.data.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['list-a', 'list-b']));
  });
});

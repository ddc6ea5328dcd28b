import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, withRedis } from '../support/inspect.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

type SaleView = { remaining: number; state: string; totalStock: number };

const it = stackTest({ server: { SWEEP_INTERVAL_MS: '200', REBUILD_TIMEOUT_MS: '600' } });

/**
 * docs/architecture.md#the-rebuild / I7: Redis holds the hot state, PostgreSQL the truth. A sale
 * whose keys are lost answers SALE_REBUILDING and is rebuilt from the rows before it takes orders
 * again.
 */
describe('rebuild of a sale hot state', () => {
  const deleteSaleKeys = (ns: string, saleId: string) =>
    withRedis(async (r) => {
      const keys = await r.keys(`${ns}:{sale:${saleId}}:*`);
      if (keys.length > 0) await r.del(...keys);
      return keys.length;
    });

  it('I7: keys deleted with no backlog → SALE_REBUILDING, then remaining == total − Σ live rows, user counts and keys restored', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'lost', totalStock: 50, perUserLimit: 5 });
    const buyer = new TestClient(server.url);
    const buyerId = await buyer.startSession();
    const prisma = server.services.stores.prisma;
    const row = (
      userId: string,
      key: string,
      quantity: number,
      status: 'PENDING' | 'CONFIRMED' | 'FAILED_PAYMENT' | 'FAILED',
    ) => ({
      id: randomUUID(),
      saleId: 'lost',
      userId,
      idempotencyKey: key,
      quantity,
      status,
      correlationId: randomUUID(),
      epoch: 1,
    });
    const confirmed = row(buyerId, 'persisted-key-1', 2, 'CONFIRMED');
    await prisma.order.createMany({
      data: [
        confirmed,
        row('u_other_user', 'other-key-0001', 1, 'PENDING'),
        row('u_failed_user', 'failed-key-001', 3, 'FAILED_PAYMENT'),
      ],
    });
    expect(await deleteSaleKeys(stack.ns, 'lost')).toBeGreaterThan(0);

    const during = await buyer.mutate('order.place', {
      saleId: 'lost',
      quantity: 1,
      idempotencyKey: 'while-rebuilding',
    });
    expect(during.status).toBe(503);
    expect(reasonOf(during)).toBe('SALE_REBUILDING');
    expect(during.body.error?.data.retryAfterMs).toBeGreaterThan(0);

    const sale = await eventually(async () => {
      const s = (await buyer.query<SaleView>('sale.get', { saleId: 'lost' })).body.result?.data;
      return s?.state === 'live' ? s : null;
    });
    expect(sale.remaining).toBe(50 - 3);
    const state = await hotState(stack.ns, 'lost');
    expect(state.users).toEqual({ [buyerId]: '2', u_other_user: '1' });
    expect(Object.keys(state.idem).sort()).toEqual(
      [`${buyerId} persisted-key-1`, 'u_other_user other-key-0001', 'u_failed_user failed-key-001'].sort(),
    );
    expect(state.hot.epoch).toBe('2');
    expect((await prisma.sale.findUniqueOrThrow({ where: { id: 'lost' } })).epoch).toBe(2);

    // The restored key replays the persisted order with its stored status; the quota holds (2 + 4 > 5).
    const replay = await buyer.mutate<{ orderId: string; status: string; replayed: boolean }>('order.place', {
      saleId: 'lost',
      quantity: 2,
      idempotencyKey: 'persisted-key-1',
    });
    expect(replay.body.result?.data).toEqual(
      expect.objectContaining({ orderId: confirmed.id, status: 'CONFIRMED', replayed: true }),
    );
    expect(
      reasonOf(
        await buyer.mutate('order.place', { saleId: 'lost', quantity: 4, idempotencyKey: 'too-many-now' }),
      ),
    ).toBe('USER_LIMIT');
    expect(
      (await buyer.mutate('order.place', { saleId: 'lost', quantity: 3, idempotencyKey: 'fits-the-quota' }))
        .status,
    ).toBe(200);
  });

  it('a rebuild with a backlog in the stream reports REBUILD_BLOCKED, keeps the sale rebuilding, and reopens it by itself once the backlog is gone', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'backlog', totalStock: 20, perUserLimit: 5 });
    const u = new TestClient(server.url);
    await u.startSession();
    expect(
      (await u.mutate('order.place', { saleId: 'backlog', quantity: 1, idempotencyKey: 'queued-order-1' }))
        .status,
    ).toBe(200);

    const blocked = await admin.mutate('admin.flushCache', { saleId: 'backlog' });
    expect(blocked.status).toBe(503);
    expect(reasonOf(blocked)).toBe('REBUILD_BLOCKED');
    expect(blocked.body.error?.data.waitingFor?.join(' ')).toMatch(
      /backlog: .*(unsettled reservation|message)/,
    );
    expect((await u.query<SaleView>('sale.get', { saleId: 'backlog' })).body.result?.data.state).toBe(
      'rebuilding',
    );
    expect(
      reasonOf(
        await u.mutate('order.place', { saleId: 'backlog', quantity: 1, idempotencyKey: 'queued-order-2' }),
      ),
    ).toBe('SALE_REBUILDING');
    expect(reasonOf(await admin.mutate('admin.restock', { saleId: 'backlog', quantity: 5 }))).toBe(
      'SALE_REBUILDING',
    );

    // Stand in for the worker: persist the order and settle its record and message.
    const msg = await server.services.stores.nats.jsm.streams.getMessage(`${stack.ns}_orders`, {
      last_by_subj: `${stack.ns}.orders.backlog`,
    });
    if (!msg) throw new Error('the queued order is not in the stream');
    const order = msg.json<{
      orderId: string;
      userId: string;
      idempotencyKey: string;
      correlationId: string;
    }>();
    await server.services.stores.prisma.order.create({
      data: {
        id: order.orderId,
        saleId: 'backlog',
        userId: order.userId,
        idempotencyKey: order.idempotencyKey,
        quantity: 1,
        status: 'CONFIRMED',
        correlationId: order.correlationId,
        epoch: 1,
      },
    });
    await server.services.stores.nats.jsm.streams.purge(`${stack.ns}_orders`, {
      filter: `${stack.ns}.orders.backlog`,
    });
    await withRedis((r) => r.srem(`${stack.ns}:{sale:backlog}:open`, order.orderId));

    const reopened = await eventually(async () => {
      const s = (await u.query<SaleView>('sale.get', { saleId: 'backlog' })).body.result?.data;
      return s?.state === 'live' ? s : null;
    });
    expect(reopened.remaining).toBe(19);
  });

  it('an ended sale whose keys are gone answers SALE_ENDED and is not rebuilt again and again', async ({
    stack,
    server,
    admin,
  }) => {
    const now = Date.now();
    await createSale(admin, {
      id: 'over',
      totalStock: 5,
      perUserLimit: 1,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 1500).toISOString(),
    });
    await new Promise((r) => setTimeout(r, 1800));
    await deleteSaleKeys(stack.ns, 'over');
    const u = new TestClient(server.url);
    await u.startSession();
    expect(
      reasonOf(
        await u.mutate('order.place', { saleId: 'over', quantity: 1, idempotencyKey: 'after-the-end' }),
      ),
    ).toBe('SALE_ENDED');
    expect((await u.query<SaleView>('sale.get', { saleId: 'over' })).body.result?.data.state).toBe('ended');
    await new Promise((r) => setTimeout(r, 1000)); // several sweeps
    expect(
      (await server.services.stores.prisma.sale.findUniqueOrThrow({ where: { id: 'over' } })).epoch,
    ).toBe(1);
  });

  it('admin.flushCache with no backlog rebuilds every sale and returns what remains', async ({ admin }) => {
    await createSale(admin, { id: 'flush-a', totalStock: 7, perUserLimit: 1 });
    const r = await admin.mutate<{ sales: { saleId: string; remaining: number }[] }>('admin.flushCache', {
      saleId: 'flush-a',
    });
    expect(r.status).toBe(200);
    expect(r.body.result?.data.sales).toEqual([{ saleId: 'flush-a', remaining: 7 }]);
  });
});

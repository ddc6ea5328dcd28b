import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, withRedis } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

// No sweeper tick within a test: a rebuild starts only when an order.place meets the rebuild
// flag, so what the worker did to Redis can be read before a rebuild rewrites it.
const it = stackTest({ server: { SWEEP_INTERVAL_MS: '600000' }, worker: {} });

type Placed = { orderId: string; status: string; replayed: boolean };

/** An order.place that meets the rebuild flag: refused SALE_REBUILDING, and it starts the rebuild. */
async function startRebuild(u: TestClient, saleId: string) {
  const r = await u.mutate('order.place', { saleId, quantity: 1, idempotencyKey: `kick-${Date.now()}` });
  expect(reasonOf(r)).toBe('SALE_REBUILDING');
}

/**
 * docs/architecture.md#the-epoch-fence: Redis's hot state behind PostgreSQL's epoch — Redis
 * restarted from a snapshot taken before the sale's last rebuild, or a second Redis pointed at
 * the same database. Its reservations are accepted at the old epoch and still held when their
 * messages reach the worker. Dropping them as stale (what the fence does when Redis lost the
 * record) would leave a shopper told "accepted" without an order row and the reservations open
 * forever, blocking every rebuild of the sale.
 */
describe('a reservation held by a Redis that is behind PostgreSQL', () => {
  it('I3: the accepted order ends FAILED with its row, its units come back and the sale is rebuilt at a new epoch', async ({
    stack,
    server,
    worker,
  }) => {
    const prisma = server.services.stores.prisma;
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'behind', totalStock: 5, perUserLimit: 5 });
    expect((await hotState(stack.ns, 'behind')).hot.epoch).toBe('1');
    // PostgreSQL moves on (a rebuild this Redis never saw); Redis keeps its epoch-1 state.
    await prisma.$executeRaw`UPDATE sales SET epoch = 2 WHERE id = 'behind'`;

    const u = new TestClient(server.url);
    await u.startSession();
    const orderId = await u.placeAccepted({
      saleId: 'behind',
      quantity: 2,
      idempotencyKey: 'reserved-behind',
    });

    // The worker gives the accepted order its final row, FAILED, finishes its record (the units
    // and the user's quota come back in Redis), counts the alarm and raises the rebuild flag.
    await eventually(
      async () => (await prisma.order.findUnique({ where: { id: orderId } }))?.status === 'FAILED',
    );
    const row = await prisma.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(row.failureReason).toMatch(/epoch 1, behind the sale's/);
    await eventually(async () => (await hotState(stack.ns, 'behind')).open === 0);
    const finished = await hotState(stack.ns, 'behind');
    expect(finished.hot.remaining).toBe('5');
    expect(finished.users).toEqual({}); // the user's quota back: no units held
    expect(finished.hot.epoch).toBe('1');
    expect(await withRedis((r) => r.exists(finished.keys.rebuild))).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/^surge_stale_hot_state_total 1$/m);

    // The next order.place starts the rebuild, from PostgreSQL under the next epoch.
    await startRebuild(u, 'behind');
    await eventually(async () => (await hotState(stack.ns, 'behind')).hot.epoch === '3', 15_000);
    const rebuilt = await hotState(stack.ns, 'behind');
    expect(rebuilt.open).toBe(0);
    expect(rebuilt.hot.remaining).toBe('5');

    // The key stays with its order (I4): a retry replays the FAILED order.
    const retry = await u.mutate<Placed>('order.place', {
      saleId: 'behind',
      quantity: 2,
      idempotencyKey: 'reserved-behind',
    });
    expect(retry.status).toBe(200);
    expect(retry.body.result?.data).toMatchObject({ orderId, replayed: true, status: 'FAILED' });

    // The sale sells again at the new epoch, and those orders are persisted.
    const nextId = await u.placeAccepted({
      saleId: 'behind',
      quantity: 3,
      idempotencyKey: 'after-the-rebuild',
    });
    await waitForDrain(stack.ns, 'behind');
    expect((await prisma.order.findUniqueOrThrow({ where: { id: nextId } })).epoch).toBe(3);
    await checkInvariants({
      prisma,
      ns: stack.ns,
      saleId: 'behind',
      total: 5,
      perUserLimit: 5,
      accepted: new Set([orderId, nextId]),
    });
  });
});

/**
 * docs/architecture.md#the-rebuild: Redis brought back from a snapshot taken while an order was
 * `published` — its message long acknowledged, its row CONFIRMED since. No message will ever
 * settle that record: the rebuild must not wait for it, and a copy of the message delivered
 * again (epoch older than the sale's by then, the record held at that epoch) must keep the row
 * as it is and give back no units.
 */
describe('a Redis restored from an older state', () => {
  it('I2 I3: an orphaned published record does not block the rebuild; a stale copy of its message keeps the CONFIRMED row', async ({
    stack,
    server,
  }) => {
    const prisma = server.services.stores.prisma;
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'restored', totalStock: 5, perUserLimit: 5 });
    const u = new TestClient(server.url);
    const userId = await u.startSession();
    const orderId = await u.placeAccepted({
      saleId: 'restored',
      quantity: 2,
      idempotencyKey: 'before-the-snapshot',
    });
    await waitForDrain(stack.ns, 'restored');
    expect((await prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status).toBe('CONFIRMED');

    // The "restored" state: the record back to `published` and open, as the snapshot had it,
    // and the sale flagged for a rebuild (what a server does when it sees Redis restarted).
    const { keys } = await hotState(stack.ns, 'restored');
    await withRedis(async (r) => {
      const record = JSON.parse((await r.hget(keys.res, orderId)) as string);
      await r.hset(keys.res, orderId, JSON.stringify({ ...record, s: 'published', st: undefined }));
      await r.sadd(keys.open, orderId);
      await r.set(keys.rebuild, '1');
    });
    // Rebuilt although the record stays open: no message of the sale is left to settle it.
    await startRebuild(u, 'restored');
    await eventually(async () => (await hotState(stack.ns, 'restored')).hot.epoch === '2', 15_000);
    let h = await hotState(stack.ns, 'restored');
    expect(h.open).toBe(0);
    expect(h.hot.remaining).toBe('3');

    // Restored once more, and this time a copy of the order's message is delivered again.
    await withRedis(async (r) => {
      const record = JSON.parse((await r.hget(keys.res, orderId)) as string);
      await r.hset(keys.res, orderId, JSON.stringify({ ...record, s: 'published', st: undefined, e: 1 }));
      await r.sadd(keys.open, orderId);
    });
    const headers = natsHeaders();
    headers.set(MSG_HEADERS.epoch, '1');
    await server.services.stores.nats.js.publish(
      natsNames(stack.ns).subjectOf('restored'),
      JSON.stringify({
        orderId,
        saleId: 'restored',
        userId,
        quantity: 2,
        idempotencyKey: 'before-the-snapshot',
        epoch: 1,
        correlationId: 'redelivered',
        reservedAt: new Date().toISOString(),
      }),
      { headers, msgID: `${orderId}:again` },
    );
    // The worker finishes the record with the row's status (no units back) and asks for a
    // rebuild; the row stays CONFIRMED.
    await eventually(async () => (await hotState(stack.ns, 'restored')).open === 0);
    h = await hotState(stack.ns, 'restored');
    expect(h.hot.remaining).toBe('3');
    expect(await withRedis((r) => r.exists(keys.rebuild))).toBe(1);
    await startRebuild(u, 'restored');
    await eventually(async () => (await hotState(stack.ns, 'restored')).hot.epoch === '3', 15_000);
    await waitForDrain(stack.ns, 'restored');
    expect((await prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status).toBe('CONFIRMED');
    h = await hotState(stack.ns, 'restored');
    expect(h.hot.remaining).toBe('3');
    await checkInvariants({
      prisma,
      ns: stack.ns,
      saleId: 'restored',
      total: 5,
      perUserLimit: 5,
      accepted: new Set([orderId]),
    });
  });
});

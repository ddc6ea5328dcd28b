import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const it = stackTest({ server: { SWEEP_INTERVAL_MS: '100' }, worker: {} });

type Placed = { orderId: string; status: string; replayed: boolean };

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
  }) => {
    const prisma = server.services.stores.prisma;
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'behind', totalStock: 5, perUserLimit: 5 });
    expect((await hotState(stack.ns, 'behind')).hot.epoch).toBe('1');
    // PostgreSQL moves on (a rebuild this Redis never saw); Redis keeps its epoch-1 state.
    await prisma.$executeRaw`UPDATE sales SET epoch = 2 WHERE id = 'behind'`;

    const u = new TestClient(server.url);
    await u.startSession();
    const first = await u.mutate<Placed>('order.place', {
      saleId: 'behind',
      quantity: 2,
      idempotencyKey: 'reserved-behind',
    });
    expect(first.status).toBe(200);
    const orderId = first.body.result?.data.orderId as string;
    expect(orderId).toBeTruthy();

    // The worker gives the accepted order its final row, FAILED, and raises the rebuild flag;
    // a sweeper rebuilds the sale from PostgreSQL under the next epoch.
    await eventually(
      async () => (await prisma.order.findUnique({ where: { id: orderId } }))?.status === 'FAILED',
    );
    const row = await prisma.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(row.failureReason).toMatch(/epoch 1, behind the sale's/);
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
    const next = await u.mutate<Placed>('order.place', {
      saleId: 'behind',
      quantity: 3,
      idempotencyKey: 'after-the-rebuild',
    });
    expect(next.status).toBe(200);
    const nextId = next.body.result?.data.orderId as string;
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

import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string };

async function placeMany(users: TestClient[], saleId: string, n: number, prefix: string) {
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      (users[i % users.length] as TestClient).mutate<Placed>('order.place', {
        saleId,
        quantity: 1 + (i % 2),
        idempotencyKey: `${prefix}-${i}-key`,
      }),
    ),
  );
  return new Set(answers.filter((a) => a.status === 200).map((a) => a.body.result?.data.orderId ?? ''));
}

/**
 * I3 / I7 through worker crashes (docs/architecture.md#a-worker-crashes): a redelivery repeats only
 * what is missing.
 */
for (const when of ['before-commit', 'after-commit'] as const) {
  const it = stackTest();
  describe(`worker kill -9 ${when}`, () => {
    it(`I3 I7: a worker killed ${when} and restarted → every accepted order exactly once, statuses final, no unit returned twice`, async ({
      stack,
      server,
    }) => {
      const saleId = `crash-${when}`;
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: saleId, totalStock: 120, perUserLimit: 4 });
      const users = await shoppers(server.url, 40);
      const accepted = await placeMany(users, saleId, 200, saleId);

      const doomed = await stack.spawnWorker(
        { SURGE_FAULT_WORKER_CRASH: when, PAYMENT_FAILURE_RATE: '0.5', WORKER_ACK_WAIT_MS: '1000' },
        { waitReady: false },
      );
      await eventually(async () => doomed.child.signalCode === 'SIGKILL', 30_000);
      if (when === 'after-commit') {
        // Rows were committed but nothing acked: the restart finds them and must not double-count.
        expect(await server.services.stores.prisma.order.count({ where: { saleId } })).toBeGreaterThan(0);
      } else {
        expect(await server.services.stores.prisma.order.count({ where: { saleId } })).toBe(0);
      }
      const healthy = await stack.worker({ PAYMENT_FAILURE_RATE: '0.5', WORKER_ACK_WAIT_MS: '1000' });
      await waitForDrain(stack.ns, saleId);
      await checkInvariants({
        prisma: server.services.stores.prisma,
        ns: stack.ns,
        saleId,
        total: 120,
        perUserLimit: 4,
        accepted,
      });
      await healthy.close();
    });
  });
}

const severalWorkers = stackTest();

describe('several workers', () => {
  severalWorkers('I3: two workers on the same stream persist each order once', async ({ stack, server }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'two-workers', totalStock: 300, perUserLimit: 4 });
    const [a, b] = [
      await stack.worker({ WORKER_ID: 'worker-a', WORKER_BATCH_SIZE: '10' }),
      await stack.worker({ WORKER_ID: 'worker-b', WORKER_BATCH_SIZE: '10' }),
    ];
    const users = await shoppers(server.url, 100);
    const accepted = await placeMany(users, 'two-workers', 600, 'two');
    await waitForDrain(stack.ns, 'two-workers');
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'two-workers',
      total: 300,
      perUserLimit: 4,
      accepted,
    });
    expect(a.consumer.processed + b.consumer.processed).toBeGreaterThanOrEqual(accepted.size);
    expect(a.consumer.processed).toBeGreaterThan(0);
    expect(b.consumer.processed).toBeGreaterThan(0);
    await Promise.all([a.close(), b.close()]);
  });

  severalWorkers(
    'one message delivered twice at the same time → payment decided once, stock returned at most once',
    async ({ stack, server }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'twice', totalStock: 10, perUserLimit: 10 });
      // Ack wait 300 ms, payment 1.5 s, no deadline extension: the message is redelivered to the
      // other worker while the first is still paying. Every payment fails: each decision would
      // return stock if it were applied twice.
      const slow = {
        WORKER_ACK_WAIT_MS: '300',
        PAYMENT_LATENCY_MS: '1500',
        SURGE_FAULT_NO_WORKING: 'true',
        PAYMENT_FAILURE_RATE: '1',
      };
      const workers = [
        await stack.worker({ ...slow, WORKER_ID: 'slow-a' }),
        await stack.worker({ ...slow, WORKER_ID: 'slow-b' }),
      ];
      const u = new TestClient(server.url);
      await u.startSession();
      const placed = await u.mutate<Placed>('order.place', {
        saleId: 'twice',
        quantity: 3,
        idempotencyKey: 'delivered-twice',
      });
      const orderId = placed.body.result?.data.orderId ?? '';
      await waitForDrain(stack.ns, 'twice');
      const row = await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
      expect(row.status).toBe('FAILED_PAYMENT');
      await checkInvariants({
        prisma: server.services.stores.prisma,
        ns: stack.ns,
        saleId: 'twice',
        total: 10,
        perUserLimit: 10,
        accepted: new Set([orderId]),
      });
      const sale = await u.query<{ remaining: number }>('sale.get', { saleId: 'twice' });
      expect(sale.body.result?.data.remaining).toBe(10);
      // Both workers really saw it: the redelivery happened.
      expect(workers.reduce((s, w) => s + w.consumer.processed, 0)).toBeGreaterThanOrEqual(2);
      await Promise.all(workers.map((w) => w.close()));
    },
  );
});

import { describe, expect } from 'vitest';
import type { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string };

async function placeMany(users: TestClient[], saleId: string, n: number) {
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      (users[i % users.length] as TestClient).mutate<Placed>('order.place', {
        saleId,
        quantity: 1 + (i % 2),
        idempotencyKey: `${saleId}-${i}-key`,
      }),
    ),
  );
  return new Set(answers.filter((a) => a.status === 200).map((a) => a.body.result?.data.orderId ?? ''));
}

const it = stackTest();

/**
 * docs/architecture.md#the-workers-batch: one worker runs up to WORKER_CONCURRENCY batches at once,
 * exactly as safe as that many workers — a redelivered copy of an order in another batch of the
 * same worker is settled once, and a stop with batches in flight loses nothing.
 */
describe('batches in flight in one worker', () => {
  it('I1 I2 I3: four batches in flight, every order redelivered into another batch while its first copy pays → each row once, payment decided once, stock returned once', async ({
    stack,
    server,
  }) => {
    const saleId = 'in-flight';
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: saleId, totalStock: 60, perUserLimit: 6 });
    const users = await shoppers(server.url, 20);
    const accepted = await placeMany(users, saleId, 40);
    expect(accepted.size).toBeGreaterThan(30);
    // Ack wait 300 ms, payment 900 ms and no deadline extension: every message comes back to this
    // worker while its first copy is still in a batch, so copies of one order overlap in two
    // batches. Half of the payments fail: a decision applied twice would return stock twice.
    const worker = await stack.worker({
      WORKER_CONCURRENCY: '4',
      WORKER_BATCH_SIZE: '5',
      WORKER_BATCH_LINGER_MS: '0',
      WORKER_ACK_WAIT_MS: '300',
      PAYMENT_LATENCY_MS: '900',
      PAYMENT_FAILURE_RATE: '0.5',
      SURGE_FAULT_NO_WORKING: 'true',
    });
    await waitForDrain(stack.ns, saleId, 60_000);
    const { byStatus } = await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId,
      total: 60,
      perUserLimit: 6,
      accepted,
    });
    expect(byStatus.PENDING ?? 0).toBe(0);
    expect(worker.consumer.peakInFlight).toBeGreaterThan(1);
    expect(worker.consumer.peakInFlight).toBeLessThanOrEqual(4);
    // Copies really overlapped: more deliveries settled than orders.
    expect(worker.consumer.processed).toBeGreaterThan(accepted.size);
    await worker.close();
  });

  it('I3 I7: SIGTERM with three batches in flight → they finish (no row left PENDING), the rest is handed back, a fresh worker drains, nothing lost or doubled', async ({
    stack,
    server,
  }) => {
    const saleId = 'stop-in-flight';
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: saleId, totalStock: 400, perUserLimit: 10 });
    const users = await shoppers(server.url, 60);
    const accepted = await placeMany(users, saleId, 300);
    const prisma = server.services.stores.prisma;
    // A backlog, batches of 10, three at once, each paying 400 ms: three batches are in flight
    // whenever rows exist and the backlog is not drained.
    const worker = await stack.spawnWorker({
      WORKER_CONCURRENCY: '3',
      WORKER_BATCH_SIZE: '10',
      PAYMENT_LATENCY_MS: '400',
      PAYMENT_FAILURE_RATE: '0.3',
      WORKER_ACK_WAIT_MS: '2000',
    });
    await eventually(async () => (await prisma.order.count({ where: { saleId } })) >= 30, 30_000);
    worker.child.kill('SIGTERM');
    await eventually(async () => worker.child.exitCode !== null, 30_000);
    expect(worker.child.exitCode).toBe(0);
    // Every batch that had started finished: its rows have their final status.
    const rows = await prisma.order.count({ where: { saleId } });
    expect(rows).toBeGreaterThanOrEqual(30);
    expect(rows).toBeLessThan(accepted.size);
    expect(await prisma.order.count({ where: { saleId, status: 'PENDING' } })).toBe(0);

    const fresh = await stack.worker({ WORKER_ACK_WAIT_MS: '2000' });
    await waitForDrain(stack.ns, saleId);
    await checkInvariants({ prisma, ns: stack.ns, saleId, total: 400, perUserLimit: 10, accepted });
    expect(await prisma.order.count({ where: { saleId } })).toBe(accepted.size);
    await fresh.close();
  });
});

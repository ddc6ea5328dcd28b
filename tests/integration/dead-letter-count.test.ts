import { natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

/**
 * A redelivery is not an error: a message delivered several times because its workers were
 * killed, which then fails once with an error nobody classified, is retried — not dead-lettered
 * on its delivery count. The error is real: a PostgreSQL trigger in this test's own database
 * refuses the first payment update (a sequence, which no rollback resets, counts the calls).
 */
const test = stackTest();

describe('dead letters count failures, not deliveries', () => {
  test('an order delivered three times that fails once is retried and confirmed, with WORKER_MAX_ATTEMPTS=2', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'redelivered', totalStock: 10, perUserLimit: 2 });
    const shopper = new TestClient(server.url);
    await shopper.startSession();
    const placed = await shopper.mutate<{ orderId: string }>('order.place', {
      saleId: 'redelivered',
      quantity: 1,
      idempotencyKey: 'delivered-many-times',
    });
    const orderId = placed.body.result?.data.orderId;
    if (!orderId) throw new Error(`order.place: ${placed.status}`);
    const { stream, consumer } = natsNames(stack.ns);
    const delivered = async () =>
      (await server.services.stores.nats.jsm.consumers.info(stream, consumer)).delivered.consumer_seq;

    const prisma = server.services.stores.prisma;
    // Two workers take the message and die holding it (in a long payment): two deliveries.
    // Each is killed once the row is in (a delivery alone may not have committed it yet).
    for (let round = 1; round <= 2; round++) {
      const doomed = await stack.spawnWorker({ PAYMENT_LATENCY_MS: '60000', WORKER_ACK_WAIT_MS: '1000' });
      await eventually(async () => (await delivered()) >= round, 15_000);
      await eventually(
        async () => (await prisma.order.findUnique({ where: { id: orderId } })) !== null,
        15_000,
      );
      doomed.child.kill('SIGKILL');
      await eventually(async () => doomed.child.signalCode === 'SIGKILL');
    }
    expect((await prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status).toBe('PENDING');

    await prisma.$executeRawUnsafe('CREATE SEQUENCE surge_test_payment_calls');
    await prisma.$executeRawUnsafe(`
      CREATE FUNCTION surge_test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('surge_test_payment_calls') = 1 THEN
          RAISE EXCEPTION 'injected: the first payment update fails';
        END IF;
        RETURN NEW;
      END $$`);
    await prisma.$executeRawUnsafe(
      'CREATE TRIGGER surge_test_fail_once BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION surge_test_fail_once()',
    );

    // The third delivery fails once; with WORKER_MAX_ATTEMPTS=2 it must be tried again.
    const worker = await stack.worker({ WORKER_MAX_ATTEMPTS: '2', WORKER_ACK_WAIT_MS: '1000' });
    await eventually(
      async () => (await prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status === 'CONFIRMED',
      20_000,
    );
    const calls = await prisma.$queryRawUnsafe<{ last_value: bigint }[]>(
      'SELECT last_value FROM surge_test_payment_calls',
    );
    expect(Number(calls[0]?.last_value)).toBeGreaterThanOrEqual(2); // it did fail once
    expect(await delivered()).toBeGreaterThanOrEqual(4);
    expect(await prisma.deadLetter.count()).toBe(0);
    expect(worker.consumer.processed).toBeGreaterThan(0);
  });
});

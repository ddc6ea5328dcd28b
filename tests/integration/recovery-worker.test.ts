import { natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers, type TestServer } from '../support/stack.ts';

/**
 * Redelivery timing: a killed worker's messages come back after the (short) ack wait, a
 * stopped worker hands its buffered messages back at once, and a batch legitimately held
 * longer than the ack wait is kept alive with in-progress acks — exactly once throughout.
 */
async function placeMany(url: string, saleId: string, n: number): Promise<Set<string>> {
  const clients = await shoppers(url, Math.ceil(n / 5));
  const accepted = new Set<string>();
  await Promise.all(
    clients.map(async (c, i) => {
      for (let j = 0; j < 5 && i * 5 + j < n; j++) {
        const a = await c.mutate<{ orderId: string }>('order.place', {
          saleId,
          quantity: 1,
          idempotencyKey: `order-${i}-${j}-of-${saleId}`,
        });
        if (a.status !== 200 || !a.body.result) throw new Error(`order.place: ${a.status}`);
        accepted.add(a.body.result.data.orderId);
      }
    }),
  );
  return accepted;
}

async function finalRows(server: TestServer, saleId: string): Promise<number> {
  return server.services.stores.prisma.order.count({ where: { saleId, status: { not: 'PENDING' } } });
}

const test = stackTest();

describe('worker redelivery', () => {
  test('kill -9 of a worker holding a batch → its orders are persisted by another worker within seconds, exactly once', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'killed', totalStock: 100, perUserLimit: 5 });
    // The doomed worker holds its batch in a long payment (in-progress acks keep it its own).
    const doomed = await stack.spawnWorker({ PAYMENT_LATENCY_MS: '60000', WORKER_BATCH_SIZE: '10' });
    const accepted = await placeMany(server.url, 'killed', 30);
    const held = await eventually(async () => {
      const info = await server.services.stores.nats.jsm.consumers.info(
        natsNames(stack.ns).stream,
        natsNames(stack.ns).consumer,
      );
      return info.num_ack_pending > 0 ? info.num_ack_pending : null;
    }, 10_000);
    // Held past the default ack wait (5 s): the in-progress acks keep the batch with it.
    await new Promise((r) => setTimeout(r, 6000));
    expect(await finalRows(server, 'killed')).toBe(0);

    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    await stack.worker();
    await eventually(async () => (await finalRows(server, 'killed')) === accepted.size, 20_000, 100);
    const tookMs = Date.now() - killedAt;
    console.log(
      `[recovery] worker kill -9 holding ${held} messages → all ${accepted.size} orders final after ${tookMs} ms (ack wait 5000 ms)`,
    );
    // Well inside the old 30-second ack wait.
    expect(tookMs).toBeLessThan(15_000);
    await waitForDrain(stack.ns, 'killed');
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'killed',
      total: 100,
      perUserLimit: 5,
      accepted,
    });
  });

  test('a stopped worker hands its buffered messages back at once (nak), not after the ack wait', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'stopped', totalStock: 100, perUserLimit: 5 });
    // A long ack wait on both workers: only a nak can bring the messages back quickly.
    const first = await stack.worker({
      PAYMENT_LATENCY_MS: '3000',
      WORKER_BATCH_SIZE: '5',
      WORKER_ACK_WAIT_MS: '60000',
    });
    const accepted = await placeMany(server.url, 'stopped', 40);
    await eventually(async () => {
      const info = await server.services.stores.nats.jsm.consumers.info(
        natsNames(stack.ns).stream,
        natsNames(stack.ns).consumer,
      );
      return info.num_ack_pending > 5;
    }, 10_000);
    const stoppedAt = Date.now();
    await first.close();
    await stack.worker({ WORKER_ACK_WAIT_MS: '60000' });
    await eventually(async () => (await finalRows(server, 'stopped')) === accepted.size, 20_000, 100);
    const tookMs = Date.now() - stoppedAt;
    console.log(
      `[recovery] graceful worker stop → all ${accepted.size} orders final after ${tookMs} ms (ack wait 60000 ms)`,
    );
    expect(tookMs).toBeLessThan(20_000);
    await waitForDrain(stack.ns, 'stopped');
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'stopped',
      total: 100,
      perUserLimit: 5,
      accepted,
    });
  });
});

import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string };

const it = stackTest({
  private: { postgres: true },
  worker: { WORKER_ACK_WAIT_MS: '2000', PAYMENT_FAILURE_RATE: '0.2' },
});

/**
 * docs/architecture.md#postgresql-outage / I7: a PostgreSQL outage is no reason to dead-letter.
 * Orders keep being accepted (the order path does not touch PostgreSQL), the worker holds its batch
 * and waits, and everything is persisted once PostgreSQL is back.
 */
describe('PostgreSQL unavailable for a while', () => {
  it('I7: orders keep being accepted, the worker waits, nothing is dead-lettered, all persisted once it is back', async ({
    stack,
    server,
    worker,
    postgres: pg,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'pg-outage', totalStock: 500, perUserLimit: 10 });
    const users = await shoppers(server.url, 50);
    const place = async (n: number, prefix: string) =>
      (
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            users[i % users.length]?.mutate<Placed>('order.place', {
              saleId: 'pg-outage',
              quantity: 1,
              idempotencyKey: `${prefix}-${i}`,
            }),
          ),
        )
      )
        .filter((a) => a?.status === 200)
        .map((a) => a?.body.result?.data.orderId ?? '');

    const accepted = new Set(await place(50, 'before-outage'));
    await waitForDrain(stack.ns, 'pg-outage');

    await pg.stop();
    const during = await place(150, 'during-outage');
    expect(during).toHaveLength(150);
    for (const id of during) accepted.add(id);
    await eventually(async () => worker.consumer.state === 'waiting-for-database', 20_000);
    // Several ack-wait periods pass while PostgreSQL is down: deadlines are kept alive.
    await new Promise((r) => setTimeout(r, 3000));
    expect(worker.consumer.state).toBe('waiting-for-database');

    await pg.start();
    await waitForDrain(stack.ns, 'pg-outage', 90_000);
    expect(worker.consumer.state).toBe('running');
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'pg-outage',
      total: 500,
      perUserLimit: 10,
      accepted,
    });
    expect(await server.services.stores.prisma.deadLetter.count()).toBe(0);
  });
});

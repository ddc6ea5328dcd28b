import { describe, expect } from 'vitest';
import { History, placeCompletion } from '../support/checker/index.ts';
import type { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string; status: string };

const it = stackTest({ worker: { PAYMENT_FAILURE_RATE: '0.3' } });

/**
 * docs/architecture.md#invariants, I1, I2, I3, I5 end to end: intake under load, the worker,
 * payment failures.
 */
describe('order pipeline end to end', () => {
  it('I1 I2 I3 I5: 2,000 concurrent calls, 320 users, stock 150, limit 3, quantities 1–3, 30 % payment failures', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'e2e', totalStock: 150, perUserLimit: 3 });
    const users = await shoppers(server.url, 320);
    // Every call into a history too: the checker then holds each answer to its own row.
    const history = new History();
    const answers = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => {
        const u = users[i % users.length] as TestClient;
        const input = { saleId: 'e2e', quantity: 1 + (i % 3), idempotencyKey: `e2e-key-${i}` };
        return history.record(
          `shopper-${i % users.length}`,
          { f: 'place', value: { ...input, userId: u.userId } },
          () => u.mutate<Placed>('order.place', input),
          placeCompletion,
        );
      }),
    );
    const accepted = new Set(
      answers.filter((a) => a.status === 200).map((a) => a.body.result?.data.orderId ?? ''),
    );
    expect(accepted.size).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);

    await waitForDrain(stack.ns, 'e2e');
    const r = await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'e2e',
      total: 150,
      perUserLimit: 3,
      accepted,
      history: history.events,
    });
    expect(r.byStatus.FAILED_PAYMENT ?? 0).toBeGreaterThan(0);
    expect(r.byStatus.CONFIRMED ?? 0).toBeGreaterThan(0);
    // Failed payments gave their units back: every unit is in `remaining` or held by a live
    // order, none by a failed one. A returned unit may be bought again by a later call (the
    // worker finishes orders while calls still arrive), so `remaining` alone can be 0 here.
    const failedUnits = await server.services.stores.prisma.order.aggregate({
      where: { saleId: 'e2e', status: 'FAILED_PAYMENT' },
      _sum: { quantity: true },
    });
    expect(failedUnits._sum.quantity ?? 0).toBeGreaterThan(0);
    expect(r.remaining + r.live).toBe(150);

    // Each shopper sees the final status, from Redis and from PostgreSQL alike.
    const one = answers.find((a) => a.status === 200);
    const owner = users[answers.indexOf(one as (typeof answers)[number]) % users.length] as TestClient;
    const view = await owner.query<{ status: string }>('order.get', {
      orderId: one?.body.result?.data.orderId,
    });
    expect(['CONFIRMED', 'FAILED_PAYMENT']).toContain(view.body.result?.data.status);
  });
});

import { describe, expect } from 'vitest';
import { type Answer, reasonOf, type TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { withRedis } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string };
type SaleView = { state: string; remaining: number };

const it = stackTest({ server: { SWEEP_INTERVAL_MS: '200', REBUILD_TIMEOUT_MS: '30000' } });

function tally(answers: Answer<Placed>[]) {
  const accepted = new Set(
    answers.filter((a) => a.status === 200).map((a) => a.body.result?.data.orderId ?? ''),
  );
  const unknown = answers.filter((a) => reasonOf(a) === 'OUTCOME_UNKNOWN').length;
  return { accepted, unknown };
}

/**
 * docs/architecture.md#the-rebuild with a backlog: the rebuild waits for the sale's messages to be
 * persisted.
 */
describe('rebuild with a backlog', () => {
  it('I1 I2: keys deleted mid-run while orders are in the stream → SALE_REBUILDING, it waits for them, then the invariants hold', async ({
    stack,
    server,
  }) => {
    const worker = await stack.worker({
      PAYMENT_LATENCY_MS: '200',
      WORKER_BATCH_SIZE: '10',
      PAYMENT_FAILURE_RATE: '0.2',
    });
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'backlog-run', totalStock: 400, perUserLimit: 5 });
    const users = await shoppers(server.url, 100);
    const place = (n: number, prefix: string) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          (users[i % users.length] as TestClient).mutate<Placed>('order.place', {
            saleId: 'backlog-run',
            quantity: 1,
            idempotencyKey: `${prefix}-${i}`,
          }),
        ),
      );
    const first = tally(await place(300, 'wave-1'));
    await withRedis(async (r) => {
      const keys = await r.keys(`${stack.ns}:{sale:backlog-run}:*`);
      await r.del(...keys);
    });
    const during = await place(50, 'wave-2');
    expect(during.some((a) => reasonOf(a) === 'SALE_REBUILDING')).toBe(true);
    const second = tally(during);

    await eventually(
      async () =>
        (await users[0]?.query<SaleView>('sale.get', { saleId: 'backlog-run' }))?.body.result?.data.state ===
        'live',
      60_000,
    );
    const third = tally(await place(50, 'wave-3'));
    await waitForDrain(stack.ns, 'backlog-run', 90_000);
    const accepted = new Set([...first.accepted, ...second.accepted, ...third.accepted]);
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'backlog-run',
      total: 400,
      perUserLimit: 5,
      accepted,
      unknownAnswers: first.unknown + second.unknown + third.unknown,
    });
    await worker.close();
  });

  it('with the worker stopped → REBUILD_BLOCKED naming the backlog; the sale reopens by itself after the worker returns', async ({
    stack,
    server,
  }) => {
    // A server that gives up waiting after 1 s (the wait itself is shown by the test above).
    const impatient = await stack.server({ SWEEP_INTERVAL_MS: '200', REBUILD_TIMEOUT_MS: '1000' });
    const admin = await stack.admin(impatient.url);
    await createSale(admin, { id: 'no-worker', totalStock: 50, perUserLimit: 5 });
    const users = await shoppers(server.url, 10);
    const placed = tally(
      await Promise.all(
        users.map((u, i) =>
          u.mutate<Placed>('order.place', {
            saleId: 'no-worker',
            quantity: 2,
            idempotencyKey: `queued-${i}`,
          }),
        ),
      ),
    );
    expect(placed.accepted.size).toBe(10);

    const blocked = await admin.mutate('admin.flushCache', { saleId: 'no-worker' });
    expect(blocked.status).toBe(503);
    expect(reasonOf(blocked)).toBe('REBUILD_BLOCKED');
    expect(blocked.body.error?.data.waitingFor?.join(' ')).toMatch(/no-worker: .*(message|reservation)/);
    expect(
      (await users[0]?.query<SaleView>('sale.get', { saleId: 'no-worker' }))?.body.result?.data.state,
    ).toBe('rebuilding');

    const worker = await stack.worker();
    const reopened = await eventually(async () => {
      const s = (await users[0]?.query<SaleView>('sale.get', { saleId: 'no-worker' }))?.body.result?.data;
      return s?.state === 'live' ? s : null;
    }, 60_000);
    await waitForDrain(stack.ns, 'no-worker');
    const r = await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'no-worker',
      total: 50,
      perUserLimit: 5,
      accepted: placed.accepted,
    });
    expect(reopened.remaining).toBe(r.remaining);
    await worker.close();
  });
});

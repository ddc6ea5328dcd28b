import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { createSale, shoppers } from '../support/stack.ts';

const it = stackTest();

/**
 * docs/architecture.md#invariants, I6: pause is a barrier, checked inside the same atomic step as
 * the reservation.
 */
describe('I6 pause is a barrier', () => {
  it('I6: under load, no order.place that starts after admin.pauseSale returned is accepted; resume reopens', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'pausable', totalStock: 100_000, perUserLimit: 100 });
    const users = await shoppers(server.url, 60);
    let pausedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const lateAccepted: string[] = [];
    let seq = 0;

    const hammer = async (u: TestClient) => {
      while (!stop) {
        const started = performance.now();
        const a = await u.mutate('order.place', {
          saleId: 'pausable',
          quantity: 1,
          idempotencyKey: `pause-${seq++}-key`,
        });
        if (a.status === 200 && started > pausedAt) lateAccepted.push(JSON.stringify(a.body));
        if (started > pausedAt) expect([200, 409]).toContain(a.status);
      }
    };
    const load = Promise.all(users.map(hammer));
    await new Promise((r) => setTimeout(r, 500));
    const paused = await admin.mutate<{ state: string }>('admin.pauseSale', { saleId: 'pausable' });
    pausedAt = performance.now();
    expect(paused.body.result?.data.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await load;
    expect(lateAccepted).toEqual([]);

    const u = users[0] as TestClient;
    const refused = await u.mutate('order.place', {
      saleId: 'pausable',
      quantity: 1,
      idempotencyKey: 'after-pause-1',
    });
    expect(reasonOf(refused)).toBe('SALE_PAUSED');
    const remainingWhilePaused = (await hotState(stack.ns, 'pausable')).hot.remaining;

    const resumed = await admin.mutate<{ state: string }>('admin.resumeSale', { saleId: 'pausable' });
    expect(resumed.body.result?.data.state).toBe('live');
    const again = await u.mutate('order.place', {
      saleId: 'pausable',
      quantity: 1,
      idempotencyKey: 'after-resume-1',
    });
    expect(again.status).toBe(200);
    expect(Number((await hotState(stack.ns, 'pausable')).hot.remaining)).toBe(
      Number(remainingWhilePaused) - 1,
    );
  });

  it('pause and resume are written to PostgreSQL and to the audit table', async ({ stack, server }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'audited', totalStock: 5, perUserLimit: 1 });
    await admin.mutate('admin.pauseSale', { saleId: 'audited' });
    const row = await server.services.stores.prisma.sale.findUniqueOrThrow({ where: { id: 'audited' } });
    expect(row.paused).toBe(true);
    await admin.mutate('admin.resumeSale', { saleId: 'audited' });
    const audit = await server.services.stores.prisma.adminAudit.findMany({ orderBy: { id: 'asc' } });
    const actions = audit.map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(['admin.login', 'admin.createSale', 'admin.pauseSale', 'admin.resumeSale']),
    );
    const pause = audit.find(
      (a) => a.action === 'admin.pauseSale' && (a.input as { saleId?: string }).saleId === 'audited',
    );
    expect(pause).toMatchObject({ ok: true, ip: expect.any(String), sessionId: expect.any(String) });
    const guest = new TestClient(server.url);
    expect(reasonOf(await guest.mutate('admin.pauseSale', { saleId: 'audited' }))).toBe('NOT_ADMIN');
  });
});

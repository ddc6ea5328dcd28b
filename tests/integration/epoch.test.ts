import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, withRedis } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const it = stackTest({ server: { SWEEP_INTERVAL_MS: '100' }, worker: {} })
  // A second server holds every publish back 2 s (fault hook), well within its lease.
  .extend('slow', { scope: 'file', auto: true }, async ({ stack }) =>
    stack.server({ SURGE_FAULT_PUBLISH_DELAY_MS: '2000', LEASE_MS: '15000' }),
  );

/**
 * docs/architecture.md#the-epoch-fence: a message reserved before a rebuild that could not see it
 * (Redis lost the record) carries the old epoch; the worker drops it, and the server that sent it
 * says OUTCOME_UNKNOWN — never success — because its record is gone.
 */
describe('a publish that lands after its sale was rebuilt', () => {
  it('I1 I3: the old-epoch message is dropped and its caller was answered OUTCOME_UNKNOWN', async ({
    stack,
    slow,
    server: fast,
  }) => {
    const admin = await stack.admin(fast.url);
    await createSale(admin, { id: 'epoch', totalStock: 5, perUserLimit: 5 });
    const u = new TestClient(slow.url);
    await u.startSession();

    const held = u.mutate('order.place', { saleId: 'epoch', quantity: 2, idempotencyKey: 'held-back-order' });
    await eventually(async () => (await hotState(stack.ns, 'epoch')).open === 1);
    // Redis loses the sale's keys while the publish is held: a rebuild runs without it.
    await withRedis(async (r) => {
      const keys = await r.keys(`${stack.ns}:{sale:epoch}:*`);
      await r.del(...keys);
    });
    const other = new TestClient(fast.url);
    await other.startSession();
    await eventually(
      async () =>
        (await other.query<{ state: string }>('sale.get', { saleId: 'epoch' })).body.result?.data.state ===
        'live',
    );
    expect((await hotState(stack.ns, 'epoch')).hot.epoch).toBe('2');

    const answer = await held;
    expect(answer.status).toBe(503);
    expect(reasonOf(answer)).toBe('OUTCOME_UNKNOWN');

    await waitForDrain(stack.ns, 'epoch');
    expect(await fast.services.stores.prisma.order.count({ where: { saleId: 'epoch' } })).toBe(0);
    await checkInvariants({
      prisma: fast.services.stores.prisma,
      ns: stack.ns,
      saleId: 'epoch',
      total: 5,
      perUserLimit: 5,
      accepted: new Set(),
    });
    // The retry with the same key is judged afresh against the rebuilt state.
    const retry = new TestClient(fast.url);
    retry.cookies = u.cookies;
    const again = await retry.mutate<{ replayed: boolean }>('order.place', {
      saleId: 'epoch',
      quantity: 2,
      idempotencyKey: 'held-back-order',
    });
    expect(again.status).toBe(200);
    expect(again.body.result?.data.replayed).toBe(false);
  });
});

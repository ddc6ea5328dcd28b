import { describe, expect } from 'vitest';
import { checkSale } from '../support/checker/index.ts';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { eventually, SHARED } from '../support/services.ts';
import { ADMIN_PASSWORD, createSale } from '../support/stack.ts';

const it = stackTest({ server: { SWEEP_INTERVAL_MS: '100' } });

/**
 * docs/architecture.md#the-rebuild / I2 / I7: a restock writes PostgreSQL, then Redis. A server killed between
 * the two (found while building the fault run's kill -9 during a restock) left Redis's total and remaining
 * behind PostgreSQL's for good: units nobody could buy. Every server's sweep loop now applies
 * PostgreSQL's total again; the Redis step adds only what is missing.
 */
describe('kill -9 between a restock’s commit and its Redis write', () => {
  it('I2: another server completes the restock, once', async ({ stack, server }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'restock-crash', totalStock: 10, perUserLimit: 100 });
    const doomed = await stack.spawnServer({ SURGE_FAULT_EXIT_AFTER_RESTOCK_COMMIT: 'true' });
    const doomedAdmin = new TestClient(doomed.url);
    await doomedAdmin.loginAdmin(ADMIN_PASSWORD);

    await expect(
      doomedAdmin.mutate('admin.restock', { saleId: 'restock-crash', quantity: 5 }),
    ).rejects.toThrow();
    await eventually(async () => !doomed.running());
    expect(doomed.child.signalCode).toBe('SIGKILL');

    // PostgreSQL has the restock; the surviving server's sweep loop brings Redis up to it.
    const t = Date.now();
    await eventually(async () => (await hotState(stack.ns, 'restock-crash')).hot.total === '15', 10_000, 50);
    console.log(`restock completed by the other server ${Date.now() - t} ms after the crash`);
    expect((await hotState(stack.ns, 'restock-crash')).hot.remaining).toBe('15');
    const v = await checkSale({
      db: stack.db.url,
      redis: SHARED.redis,
      ns: stack.ns,
      saleId: 'restock-crash',
    });
    expect(v.violations).toEqual([]);
    expect(v.facts.total).toBe(15);

    // Applying it again adds nothing: later ticks leave the sale as it is.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await hotState(stack.ns, 'restock-crash')).hot).toMatchObject({ total: '15', remaining: '15' });
  });
});

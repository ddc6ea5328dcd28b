import { Redis } from 'ioredis';
import { saleKeys } from '../../packages/hot-state/src/keys.ts';
import { TestClient } from '../support/client.ts';
import { SHARED } from '../support/services.ts';
import { expect, loginHud, newSale, test } from './support/fixtures.ts';

/**
 * docs/architecture.md#live-data, the HUD's live reconciliation per sale: green while total = remaining + held by
 * open reservations + persisted without an open record; flagged when they disagree for 5 s in
 * a row, with the numbers; back to green once a flush rebuilds the hot state from PostgreSQL.
 */
test('live reconciliation: green under traffic, flagged when Redis drifts, cleared by a flush', async ({
  page,
  stack,
  api,
}) => {
  const saleId = await newSale(api, { totalStock: 200, perUserLimit: 5 });
  await loginHud(page, stack);
  const badge = page.getByTestId(`reconcile-${saleId}`);
  await expect(badge).toHaveAttribute('data-state', 'ok');
  await expect(badge).toContainText('total 200 = 200 left + 0 held + 0 persisted');

  // Normal traffic for 7 s: orders come and go between Redis and PostgreSQL, never flagged.
  const buyers = Array.from({ length: 10 }, () => new TestClient(stack.url));
  await Promise.all(buyers.map((b) => b.startSession()));
  const seen = new Set<string>();
  const until = Date.now() + 7000;
  let seq = 0;
  const load = Promise.all(
    buyers.map(async (b) => {
      for (let n = 0; n < 5 && Date.now() < until; n++) {
        await b.mutate('order.place', { saleId, quantity: 1, idempotencyKey: `rec-${seq++}-${saleId}` });
        await new Promise((r) => setTimeout(r, 600));
      }
    }),
  );
  while (Date.now() < until) {
    seen.add((await badge.getAttribute('data-state')) ?? '');
    await page.waitForTimeout(200);
  }
  await load;
  expect(seen.has('flagged')).toBe(false);
  await expect(badge).toHaveAttribute('data-state', 'ok');
  await expect(badge).toContainText(/total 200 = \d+ left \+ 0 held \+ \d+ persisted/);

  // A test-only fault: Redis gains 7 units nobody returned (remaining drifts from the truth).
  const redis = new Redis(SHARED.redis);
  await redis.hincrby(saleKeys(stack.ns, saleId).hot, 'remaining', 7);
  redis.disconnect();
  const drifted = Date.now();
  await expect(badge).toHaveAttribute('data-state', 'flagged', { timeout: 15_000 });
  console.log(`Redis drift flagged on the HUD ${Date.now() - drifted} ms after it began`);
  expect(Date.now() - drifted).toBeGreaterThanOrEqual(5000);
  await expect(badge).toContainText(/total 200 ≠ \d+ left \+ 0 held \+ \d+ persisted \(-7 for \d+ s\)/);

  // A flush rebuilds the hot state from PostgreSQL: the flag clears.
  await page.getByTestId(`flush-${saleId}`).click();
  await page.getByTestId('confirm-yes').click();
  await expect(badge).toHaveAttribute('data-state', 'ok', { timeout: 30_000 });
  await expect(badge).toContainText(/total 200 = \d+ left \+ 0 held \+ \d+ persisted$/);
});

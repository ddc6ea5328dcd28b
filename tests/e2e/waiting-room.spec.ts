import type { Ticket } from '@surge/contracts';
import { TestClient } from '../support/client.ts';
import { expect, loginHud, newSale, test } from './support/fixtures.ts';

async function joined(url: string, saleId: string, n: number): Promise<TestClient[]> {
  const crowd = Array.from({ length: n }, () => new TestClient(url));
  for (const c of crowd) {
    await c.startSession();
    const r = await c.mutate<Ticket>('queue.join', { saleId });
    if (r.status !== 200) throw new Error(`queue.join ${r.status}`);
  }
  return crowd;
}

/** docs/architecture.md#the-waiting-room on the shop page and the HUD, in a real Chromium against the real stack. */
test.describe('waiting room', () => {
  test('joined before the start: waiting with a place, admitted by itself, then buys', async ({
    page,
    stack,
    api,
    db,
  }) => {
    const saleId = await newSale(api, {
      totalStock: 50,
      perUserLimit: 1,
      name: 'Queued Runner',
      startsAt: new Date(Date.now() + 8000).toISOString(),
      queue: { admitPerSecond: 2 },
    });
    await joined(stack.url, saleId, 3);
    await page.goto(`${stack.url}/?sale=${saleId}`);
    const room = page.getByTestId('waiting-room');
    await expect(room).toHaveAttribute('data-state', 'waiting');
    // First, while the start is still ahead (a few seconds on a slow machine).
    await expect(page.getByTestId('queue-fairness')).toContainText(
      'joins before the start gets a random place',
    );
    await expect(page.getByTestId('queue-position')).toHaveText(/^[1-4]$/);
    await expect(page.getByTestId('queue-eta')).not.toHaveText('');
    await expect(page.getByTestId('queue-progress')).toBeVisible();
    await expect(page.getByTestId('queue-fairness')).toContainText(
      'joins before the start gets a random place',
    );
    await expect(page.getByTestId('buy-button')).toBeDisabled();
    // No click: the page follows live.queue and switches to Buy once admitted.
    await expect(room).toHaveAttribute('data-state', 'admitted', { timeout: 20_000 });
    await expect(page.getByTestId('token-time-left')).toHaveText(/^00:0[45]:\d\d$/);
    await expect(page.getByTestId('buy-button')).toBeEnabled();
    await page.getByTestId('buy-button').click();
    await expect(page.getByTestId('order-status')).toHaveText(/PENDING|CONFIRMED/);
    await expect.poll(() => db.order.count({ where: { saleId } })).toBe(1);
  });

  test('sold out while waiting shows at once', async ({ page, stack, api }) => {
    const saleId = await newSale(api, {
      totalStock: 1,
      perUserLimit: 1,
      queue: { admitPerSecond: 100, outstandingFactor: 1 },
    });
    // The first in line is admitted; with one unit left and factor 1, admission then holds.
    const [first] = (await joined(stack.url, saleId, 1)) as [TestClient];
    await expect
      .poll(async () => (await first.query<Ticket>('queue.get', { saleId })).body.result?.data.state)
      .toBe('admitted');
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await expect(page.getByTestId('waiting-room')).toHaveAttribute('data-state', 'waiting');
    await expect(page.getByTestId('queue-position')).toHaveText('1');
    // A latecomer is told how the line is ordered now, not that arriving early shuffles it.
    await expect(page.getByTestId('queue-fairness')).toContainText(
      'since the start, the line keeps the order of arrival',
    );
    const token = (await first.query<Ticket>('queue.get', { saleId })).body.result?.data.admissionToken;
    const bought = await first.mutate('order.place', {
      saleId,
      quantity: 1,
      idempotencyKey: `e2e-soldout-${saleId}`,
      admissionToken: token,
    });
    expect(bought.status).toBe(200);
    await expect(page.getByTestId('waiting-room')).toHaveAttribute('data-state', 'soldout', {
      timeout: 3000,
    });
    await expect(page.getByTestId('buy-button')).toBeDisabled();
  });

  test('the admin changes the admission rate from the HUD and admitted/s follows', async ({
    page,
    stack,
    api,
  }) => {
    const saleId = await newSale(api, {
      totalStock: 1000,
      perUserLimit: 1,
      queue: { admitPerSecond: 1 },
    });
    await joined(stack.url, saleId, 120);
    await loginHud(page, stack);
    await expect(page.getByTestId(`queue-rate-${saleId}`)).toHaveText('1/s');
    await expect(page.getByTestId(`queue-waiting-${saleId}`)).not.toHaveText('0');
    await page.getByTestId(`admit-rate-input-${saleId}`).fill('20');
    await page.getByTestId(`admit-rate-set-${saleId}`).click();
    await page.getByTestId('confirm-yes').click();
    await expect(page.getByTestId('action-result')).toContainText('admits 20 per second');
    await expect(page.getByTestId(`queue-rate-${saleId}`)).toHaveText('20/s');
    await expect
      .poll(async () => Number(await page.getByTestId(`queue-admitted-rate-${saleId}`).textContent()), {
        timeout: 10_000,
      })
      .toBeGreaterThan(5);
    // Orders without a token: the answers chart shows NOT_ADMITTED among the reasons.
    const [crasher] = await joined(stack.url, saleId, 1);
    for (let i = 0; i < 3; i++)
      await crasher?.mutate('order.place', { saleId, quantity: 1, idempotencyKey: `e2e-no-token-${i}` });
    await expect(page.getByTestId('answers-chart')).toBeVisible();
    await expect(page.getByTestId('answers-NOT_ADMITTED')).toBeVisible({ timeout: 10_000 });
  });

  test('an unqueued sale is unchanged: no waiting room, Buy works at once', async ({ page, stack, api }) => {
    const saleId = await newSale(api, { totalStock: 5, perUserLimit: 1 });
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await expect(page.getByTestId('sale-state')).toHaveText('live');
    await expect(page.getByTestId('buy-button')).toBeEnabled();
    await expect(page.getByTestId('waiting-room')).toHaveCount(0);
    await page.getByTestId('buy-button').click();
    await expect(page.getByTestId('order-status')).toHaveText(/PENDING|CONFIRMED/);
  });
});

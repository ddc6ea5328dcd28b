import { TestClient } from '../support/client.ts';
import { expect, newSale, test } from './support/fixtures.ts';

/** The shop page, in a real Chromium against the real stack. */
test.describe('shop page', () => {
  test('a shopper buys: PENDING, then CONFIRMED, with one order in PostgreSQL', async ({
    page,
    stack,
    api,
    db,
  }) => {
    const saleId = await newSale(api, { totalStock: 20, perUserLimit: 3, name: 'Runner Blue' });
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await expect(page.getByTestId('sale-name')).toHaveText('Runner Blue');
    await expect(page.getByTestId('stock-remaining')).toHaveText('20 / 20');
    await expect(page.getByTestId('sale-state')).toHaveText('live');
    const started = Date.now();
    await page.getByTestId('buy-button').click();
    await expect(page.getByTestId('order-status')).toHaveText('PENDING');
    await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
    console.log(`purchase → CONFIRMED on the shop page: ${Date.now() - started} ms (payment latency 400 ms)`);
    await expect(page.getByTestId('stock-remaining')).toHaveText('19 / 20');
    const orderId = (await page.getByTestId('order-id').textContent())?.trim() ?? '';
    expect(await db.order.findUnique({ where: { id: orderId } })).toMatchObject({
      saleId,
      status: 'CONFIRMED',
      quantity: 1,
    });
  });

  test('a double click makes one order; after a final status, Buy starts a new intent', async ({
    page,
    stack,
    api,
    db,
  }) => {
    const saleId = await newSale(api, { totalStock: 20, perUserLimit: 5 });
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await expect(page.getByTestId('sale-state')).toHaveText('live');
    await page.getByTestId('buy-button').dblclick();
    await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
    await expect.poll(() => db.order.count({ where: { saleId } })).toBe(1);
    const first = await db.order.findFirstOrThrow({ where: { saleId } });

    await page.getByTestId('buy-button').click();
    await expect.poll(() => db.order.count({ where: { saleId } })).toBe(2);
    const keys = (await db.order.findMany({ where: { saleId } })).map((o) => o.idempotencyKey);
    expect(new Set(keys).size).toBe(2);
    expect(keys).toContain(first.idempotencyKey);
  });

  test('a request the page retries (answer lost: OUTCOME_UNKNOWN) reuses its key and makes one order', async ({
    page,
    stack,
    api,
    db,
  }) => {
    const saleId = await newSale(api, { totalStock: 20, perUserLimit: 5 });
    let intercepted = 0;
    await page.route('**/trpc/order.place*', async (route) => {
      if (intercepted++ > 0) return route.continue();
      // The server takes the order, but the page is told the outcome is unknown.
      await route.fetch();
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          error: {
            message: 'unknown',
            code: -32603,
            data: {
              code: 'SERVICE_UNAVAILABLE',
              httpStatus: 503,
              reason: 'OUTCOME_UNKNOWN',
              retryAfterMs: 200,
            },
          },
        }),
      });
    });
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await expect(page.getByTestId('sale-state')).toHaveText('live');
    await page.getByTestId('buy-button').click();
    await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
    expect(intercepted).toBeGreaterThanOrEqual(2);
    expect(await db.order.count({ where: { saleId } })).toBe(1);
  });

  test('limit reached, sold out and paused show on the page, and the server refuses', async ({
    page,
    browser,
    stack,
    api,
  }) => {
    const saleId = await newSale(api, { totalStock: 1, perUserLimit: 1 });
    await page.goto(`${stack.url}/?sale=${saleId}`);
    await page.getByTestId('buy-button').click();
    await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
    // The last unit is gone: this page and any other show the sale sold out.
    await expect(page.getByTestId('sale-state')).toHaveText('soldout');
    await expect(page.getByTestId('buy-button')).toBeDisabled();

    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(`${stack.url}/?sale=${saleId}`);
    await expect(second.getByTestId('sale-state')).toHaveText('soldout');
    await expect(second.getByTestId('stock-remaining')).toHaveText('0 / 1');
    const shopper = new TestClient(stack.url);
    await shopper.startSession();
    const refused = await shopper.mutate('order.place', {
      saleId,
      quantity: 1,
      idempotencyKey: 'e2e-sold-out-1',
    });
    expect(refused.body.error?.data.reason).toBe('SOLD_OUT');

    const limited = await newSale(api, { totalStock: 10, perUserLimit: 1 });
    await second.goto(`${stack.url}/?sale=${limited}`);
    await second.getByTestId('buy-button').click();
    await expect(second.getByTestId('order-status')).toHaveText('CONFIRMED');
    await second.getByTestId('buy-button').click();
    await expect(second.getByTestId('order-reason')).toHaveText('USER_LIMIT');
    await expect(second.getByTestId('order-message')).toContainText(/limit/i);

    await api.mutate('admin.pauseSale', { saleId: limited });
    await expect(second.getByTestId('sale-state')).toHaveText('paused');
    await expect(second.getByTestId('buy-button')).toBeDisabled();
    const paused = await shopper.mutate('order.place', {
      saleId: limited,
      quantity: 1,
      idempotencyKey: 'e2e-paused-01',
    });
    expect(paused.body.error?.data.reason).toBe('SALE_PAUSED');
    await other.close();
  });
});

import { expect, loginHud, newSale, test } from './support/fixtures.ts';

test('the built page is served with its security headers and no request leaves the machine', async ({
  page,
  stack,
  api,
}) => {
  const saleId = await newSale(api, { totalStock: 5, perUserLimit: 1, name: 'Smoke Runner' });
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(stack.url) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  const res = await page.goto(`${stack.url}/?sale=${saleId}`);
  expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
  expect(res?.headers()['x-frame-options']).toBe('DENY');
  await expect(page.getByTestId('sale-name')).toHaveText('Smoke Runner');
  expect(foreign).toEqual([]);
});

test('a page opens at most two live streams at once (browsers allow six connections per origin)', async ({
  page,
  stack,
  api,
}) => {
  const saleId = await newSale(api, { totalStock: 5, perUserLimit: 2 });
  const open = new Set<string>();
  let most = 0;
  page.on('request', (r) => {
    if (!r.url().includes('/trpc/live.')) return;
    open.add(r.url());
    most = Math.max(most, open.size);
  });
  const closed = (r: { url(): string }) => open.delete(r.url());
  page.on('requestfinished', closed);
  page.on('requestfailed', closed);
  await page.goto(`${stack.url}/?sale=${saleId}`);
  await page.getByTestId('buy-button').click();
  await expect(page.getByTestId('order-status')).toHaveText('CONFIRMED');
  expect(most).toBeGreaterThanOrEqual(1);
  expect(most).toBeLessThanOrEqual(2);

  most = 0;
  open.clear();
  await loginHud(page, stack);
  await expect(page.getByTestId('event-feed')).toBeVisible();
  expect(most).toBe(1);
});

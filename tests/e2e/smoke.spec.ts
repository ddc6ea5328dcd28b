import { expect, newSale, test } from './support/fixtures.ts';

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

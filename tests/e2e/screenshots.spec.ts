import { mkdirSync } from 'node:fs';
import { TestClient } from '../support/client.ts';
import { ROOT } from '../support/paths.ts';
import { expect, loginHud, newSale, test } from './support/fixtures.ts';

/** Not a test: arranges a lively sale and photographs the pages for the README. */
const OUT = `${ROOT}/docs/screenshots`;

test('refresh the README screenshots', async ({ page, browser, stack, api }) => {
  mkdirSync(OUT, { recursive: true });
  const saleId = await newSale(api, {
    totalStock: 5000,
    perUserLimit: 100,
    name: 'Surge Runner — Launch Edition',
    priceCents: 12900,
  });
  const buyers = Array.from({ length: 20 }, () => new TestClient(stack.url));
  await Promise.all(buyers.map((b) => b.startSession()));
  let seq = 0;
  const burst = () =>
    Promise.all(
      buyers
        .slice(0, 20)
        .map((b) =>
          b.mutate('order.place', { saleId, quantity: 1, idempotencyKey: `shot-${saleId}-${seq++}` }),
        ),
    );

  const shopper = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const shop = await shopper.newPage();
  await shop.goto(`${stack.url}/?sale=${saleId}`);
  await burst();
  await shop.getByTestId('buy-button').click();
  await expect(shop.getByTestId('order-status')).toHaveText('CONFIRMED');
  await shop.screenshot({ path: `${OUT}/shop.png` });

  await loginHud(page, stack);
  // Keep orders flowing while the HUD is photographed, so its rates and sparkline move.
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      await burst();
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  await page.waitForTimeout(3000);
  await api.mutate('admin.restock', { saleId, quantity: 50 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${OUT}/hud-dark.png`, fullPage: true });
  await page.getByTestId('theme-toggle').click();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${OUT}/hud-light.png`, fullPage: true });
  await page.getByTestId('theme-toggle').click();
  flowing = false;
  await flow;
  await shopper.close();
});

test('refresh the README screenshot of the waiting room', async ({ browser, stack, api }) => {
  mkdirSync(OUT, { recursive: true });
  const saleId = await newSale(api, {
    totalStock: 500,
    perUserLimit: 1,
    name: 'Surge Runner — Midnight Drop',
    priceCents: 14900,
    startsAt: new Date(Date.now() + 4000).toISOString(),
    queue: { admitPerSecond: 5 },
  });
  const crowd = Array.from({ length: 400 }, () => new TestClient(stack.url));
  for (let i = 0; i < crowd.length; i += 50) {
    await Promise.all(
      crowd.slice(i, i + 50).map(async (c) => {
        await c.startSession();
        await c.mutate('queue.join', { saleId });
      }),
    );
  }
  const shopper = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const shop = await shopper.newPage();
  await shop.goto(`${stack.url}/?sale=${saleId}`);
  await expect(shop.getByTestId('waiting-room')).toHaveAttribute('data-state', 'waiting');
  await expect(shop.getByTestId('sale-state')).toHaveText('live', { timeout: 10_000 });
  await shop.waitForTimeout(2500); // the line moves: the progress bar fills a little
  await shop.screenshot({ path: `${OUT}/waiting-room.png` });
  await shopper.close();
});

import { test as base, expect, type Page } from '@playwright/test';
import { createPrisma, type PrismaClient } from '@surge/db';
import { TestClient } from '../../support/client.ts';
import { readState, type StackState } from './stack-state.ts';

/**
 * Fixtures of the browser specs: the running stack, an API client logged in as admin (to
 * arrange sales quickly — the HUD itself is tested through the page), and PostgreSQL for
 * checking what the pages did.
 */
export const test = base.extend<{ stack: StackState; api: TestClient }, { db: PrismaClient }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture dependencies from this pattern
  stack: async ({}, use) => {
    await use(readState());
  },
  api: async ({ stack }, use) => {
    const api = new TestClient(stack.url);
    await api.loginAdmin(stack.adminPassword);
    await use(api);
  },
  db: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture dependencies from this pattern
    async ({}, use) => {
      const prisma = createPrisma(readState().databaseUrl);
      await use(prisma);
      await prisma.$disconnect();
    },
    { scope: 'worker' },
  ],
});
export { expect };

let saleSeq = 0;
/** A fresh sale for one spec (ids are unique per run). */
export async function newSale(
  api: TestClient,
  o: {
    totalStock: number;
    perUserLimit: number;
    name?: string;
    startsAt?: string;
    priceCents?: number;
    queue?: { admitPerSecond: number; tokenTtlS?: number; outstandingFactor?: number };
  },
): Promise<string> {
  const id = `e2e-${Date.now().toString(36)}-${++saleSeq}`;
  const r = await api.mutate('admin.createSale', {
    id,
    name: o.name ?? `Test sneaker ${saleSeq}`,
    priceCents: o.priceCents ?? 4999,
    ...o,
  });
  if (r.status !== 200) throw new Error(`createSale ${r.status}: ${JSON.stringify(r.body)}`);
  return id;
}

export async function loginHud(page: Page, stack: StackState): Promise<void> {
  await page.goto(`${stack.url}/admin`);
  await page.getByTestId('login-password').fill(stack.adminPassword);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('hud')).toBeVisible();
}

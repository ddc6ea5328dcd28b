import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { createSale } from '../support/stack.ts';

/**
 * README.md#security / issue 10 H1: IP_UNIT_LIMIT caps the units one IP group (IPv6: its /64) holds in
 * one sale, checked in the same Lua step as the per-user limit, so fresh identities from one
 * network cannot empty the stock: IP_LIMIT 409, nothing reserved. Units come back with the
 * order's when its payment fails.
 */
const it = stackTest({ server: { IP_UNIT_LIMIT: '3', TRUST_PROXY: 'true' } });
const failing = stackTest({
  server: { IP_UNIT_LIMIT: '2', TRUST_PROXY: 'true' },
  worker: { PAYMENT_FAILURE_RATE: '1' },
});

let n = 0;
const order = (c: TestClient, saleId: string, quantity = 1) =>
  c.mutate('order.place', { saleId, quantity, idempotencyKey: `ipu-${Date.now()}-${n++}` });
const shopperFrom = async (url: string, ip: string) => {
  const c = new TestClient(url, { 'x-forwarded-for': ip });
  await c.startSession();
  return c;
};

describe('IP_UNIT_LIMIT (H1)', () => {
  it('fresh identities from one /64 share the cap: the 4th unit is 409 IP_LIMIT and reserves nothing', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, { id: 'ipu-one', totalStock: 100, perUserLimit: 5 });
    const a = await shopperFrom(server.url, '2001:db8:10:1::a');
    const b = await shopperFrom(server.url, '2001:db8:10:1:ffff::b'); // same /64, other address
    expect((await order(a, 'ipu-one', 2)).status).toBe(200);
    expect((await order(b, 'ipu-one', 1)).status).toBe(200);
    const before = (await hotState(stack.ns, 'ipu-one')).hot.remaining;
    const refused = await order(b, 'ipu-one', 1);
    expect(refused.status).toBe(409);
    expect(reasonOf(refused)).toBe('IP_LIMIT');
    expect((await hotState(stack.ns, 'ipu-one')).hot.remaining).toBe(before);
    // The per-user limit is judged first (docs/architecture.md#error-reasons's order).
    const overUser = await order(a, 'ipu-one', 4);
    expect(reasonOf(overUser)).toBe('USER_LIMIT');
    // Another network is not affected.
    const c = await shopperFrom(server.url, '2001:db8:10:2::c');
    expect((await order(c, 'ipu-one', 3)).status).toBe(200);
  });

  it('is atomic: 12 identities from one IPv4 racing for single units get exactly 3', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'ipu-race', totalStock: 100, perUserLimit: 1 });
    const bots = await Promise.all(Array.from({ length: 12 }, () => shopperFrom(server.url, '198.51.100.7')));
    const answers = await Promise.all(bots.map((b) => order(b, 'ipu-race')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(answers.filter((a) => reasonOf(a) === 'IP_LIMIT')).toHaveLength(9);
  });
});

describe('IP_UNIT_LIMIT gives units back (H1)', () => {
  failing(
    'a failed payment returns the IP group’s units with the user’s',
    async ({ server, admin, stack }) => {
      await createSale(admin, { id: 'ipu-fail', totalStock: 100, perUserLimit: 5 });
      const a = await shopperFrom(server.url, '203.0.113.9');
      expect((await order(a, 'ipu-fail', 2)).status).toBe(200);
      // The worker fails the payment, the units (and the IP group's count) come back.
      await expect
        .poll(async () => (await hotState(stack.ns, 'ipu-fail')).hot.remaining, { timeout: 15_000 })
        .toBe('100');
      const again = await order(a, 'ipu-fail', 2);
      expect(again.status).toBe(200);
    },
  );
});

import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { createSale, shoppers } from '../support/stack.ts';

const it = stackTest();

/**
 * docs/architecture.md#invariants, I1 (no oversell) and I5 (per-user limit) at the intake:
 * thousands of concurrent `order.place` calls over HTTP against little stock.
 */
describe('order intake under concurrency', () => {
  it('I1 + I5: 2,000 concurrent calls from 320 users on stock 100 accept exactly 100, ≤ 2 per user, 100 distinct messages', async ({
    stack,
    server,
  }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'load', totalStock: 100, perUserLimit: 2 });
    const users = await shoppers(server.url, 320);
    const calls = Array.from({ length: 2000 }, (_, i) => {
      const u = users[i % users.length] as TestClient;
      return {
        u,
        p: u.mutate('order.place', { saleId: 'load', quantity: 1, idempotencyKey: `load-key-${i}` }),
      };
    });
    const answers = await Promise.all(calls.map(async (c) => ({ user: c.u, a: await c.p })));

    const accepted = answers.filter((x) => x.a.status === 200);
    const reasons = new Map<string, number>();
    for (const x of answers)
      if (x.a.status !== 200) reasons.set(reasonOf(x.a) ?? '?', (reasons.get(reasonOf(x.a) ?? '?') ?? 0) + 1);
    expect(accepted).toHaveLength(100);
    // Every refusal is a definite, named one: sold out or the user's limit.
    expect([...reasons.keys()].every((r) => r === 'SOLD_OUT' || r === 'USER_LIMIT')).toBe(true);

    const perUser = new Map<TestClient, number>();
    for (const x of accepted) perUser.set(x.user, (perUser.get(x.user) ?? 0) + 1);
    expect(Math.max(...perUser.values())).toBeLessThanOrEqual(2);

    const ids = accepted.map((x) => (x.a.body.result?.data as { orderId: string } | undefined)?.orderId);
    const messages = await streamMessages(stack.ns);
    expect(messages).toHaveLength(100);
    expect(new Set(messages.map((m) => m.msg.orderId))).toEqual(new Set(ids));
    expect(messages.every((m) => m.subject === `${stack.ns}.orders.load`)).toBe(true);

    const state = await hotState(stack.ns, 'load');
    expect(Number(state.hot.remaining)).toBe(0);
    const held = Object.values(state.users).reduce((s, v) => s + Number(v), 0);
    expect(held).toBe(100);
    expect(state.outbox).toBe(0);

    const sale = await new TestClient(server.url).query<{ remaining: number; state: string }>('sale.get', {
      saleId: 'load',
    });
    expect(sale.body.result?.data).toMatchObject({ remaining: 0, state: 'soldout' });
  });
});

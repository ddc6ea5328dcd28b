import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { createSale } from '../support/stack.ts';

type Placed = { orderId: string; status: string; replayed: boolean };
const placed = (a: { body: { result?: { data: unknown } } }) => a.body.result?.data as Placed;

const it = stackTest().extend('sales', { scope: 'file', auto: true }, async ({ admin }) => {
  await createSale(admin, { id: 'idem-a', totalStock: 1000, perUserLimit: 100 });
  await createSale(admin, { id: 'idem-b', totalStock: 1000, perUserLimit: 100 });
  return ['idem-a', 'idem-b'];
});

/**
 * I4 (docs/architecture.md#idempotency): an idempotency key is scoped by (sale, user); one order
 * per key and input.
 */
describe('I4 idempotency', () => {
  const messagesFor = async (ns: string, orderId: string) =>
    (await streamMessages(ns)).filter((m) => m.msg.orderId === orderId);

  it('I4: the same key repeated sequentially gives one order and one message, replayed: true on every repeat', async ({
    stack,
    server,
  }) => {
    const u = new TestClient(server.url);
    await u.startSession();
    const input = { saleId: 'idem-a', quantity: 2, idempotencyKey: 'seq-key-0001' };
    const first = await u.mutate('order.place', input);
    expect(first.status).toBe(200);
    expect(placed(first).replayed).toBe(false);
    for (let i = 0; i < 5; i++) {
      const again = await u.mutate('order.place', input);
      expect(again.status).toBe(200);
      expect(placed(again)).toMatchObject({
        orderId: placed(first).orderId,
        replayed: true,
        status: 'PENDING',
      });
    }
    expect(await messagesFor(stack.ns, placed(first).orderId)).toHaveLength(1);
    const state = await hotState(stack.ns, 'idem-a');
    expect(Number(state.users[(await u.startSession()) as string])).toBe(2);
  });

  it('I4: the same key sent 50 times concurrently gives one order and one message; the others replay or are in flight', async ({
    stack,
    server,
  }) => {
    const u = new TestClient(server.url);
    await u.startSession();
    const input = { saleId: 'idem-a', quantity: 1, idempotencyKey: 'concurrent-key-01' };
    const answers = await Promise.all(Array.from({ length: 50 }, () => u.mutate('order.place', input)));
    const ok = answers.filter((a) => a.status === 200);
    const fresh = ok.filter((a) => !placed(a).replayed);
    expect(fresh).toHaveLength(1);
    const orderId = placed(fresh[0] as (typeof answers)[number]).orderId;
    expect(ok.every((a) => placed(a).orderId === orderId)).toBe(true);
    // Repeats either replay the order or are told it is still being settled (409): nothing else.
    for (const a of answers) if (a.status !== 200) expect(reasonOf(a)).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(await messagesFor(stack.ns, orderId)).toHaveLength(1);
    const after = await u.mutate('order.place', input);
    expect(placed(after)).toMatchObject({ orderId, replayed: true });
  });

  it('I4: the same key with a different input is refused with 422 and changes nothing', async ({
    stack,
    server,
  }) => {
    const u = new TestClient(server.url);
    const userId = await u.startSession();
    const first = await u.mutate('order.place', {
      saleId: 'idem-a',
      quantity: 1,
      idempotencyKey: 'mismatch-key-1',
    });
    expect(first.status).toBe(200);
    const before = await hotState(stack.ns, 'idem-a');
    const other = await u.mutate('order.place', {
      saleId: 'idem-a',
      quantity: 3,
      idempotencyKey: 'mismatch-key-1',
    });
    expect(other.status).toBe(422);
    expect(reasonOf(other)).toBe('IDEMPOTENCY_MISMATCH');
    const after = await hotState(stack.ns, 'idem-a');
    expect(after.hot.remaining).toBe(before.hot.remaining);
    expect(after.users[userId]).toBe('1');
  });

  it('I4: after a definite rejection (sold out) the key leaves no record and a retry is judged afresh', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'idem-small', totalStock: 1, perUserLimit: 5 });
    const [a, b] = [new TestClient(server.url), new TestClient(server.url)];
    await Promise.all([a.startSession(), b.startSession()]);
    expect(
      (await a.mutate('order.place', { saleId: 'idem-small', quantity: 1, idempotencyKey: 'first-buyer-1' }))
        .status,
    ).toBe(200);
    const key = { saleId: 'idem-small', quantity: 1, idempotencyKey: 'second-buyer-1' };
    const refused = await b.mutate('order.place', key);
    expect(reasonOf(refused)).toBe('SOLD_OUT');
    expect((await hotState(stack.ns, 'idem-small')).idem).not.toHaveProperty([
      `${await b.startSession()} second-buyer-1`,
    ]);
    await admin.mutate('admin.restock', { saleId: 'idem-small', quantity: 1 });
    const retried = await b.mutate('order.place', key);
    expect(retried.status).toBe(200);
    expect(placed(retried).replayed).toBe(false);
  });

  it('I4: the same key on two sales makes two orders', async ({ server }) => {
    const u = new TestClient(server.url);
    await u.startSession();
    const a = await u.mutate('order.place', {
      saleId: 'idem-a',
      quantity: 1,
      idempotencyKey: 'shared-key-0001',
    });
    const b = await u.mutate('order.place', {
      saleId: 'idem-b',
      quantity: 1,
      idempotencyKey: 'shared-key-0001',
    });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(placed(a).orderId).not.toBe(placed(b).orderId);
    expect(placed(b).replayed).toBe(false);
  });

  it('I4: the same key used by two users makes two orders (keys are scoped by user)', async ({ server }) => {
    const [x, y] = [new TestClient(server.url), new TestClient(server.url)];
    await Promise.all([x.startSession(), y.startSession()]);
    const input = { saleId: 'idem-b', quantity: 1, idempotencyKey: 'two-users-key-1' };
    const [a, b] = await Promise.all([x.mutate('order.place', input), y.mutate('order.place', input)]);
    expect(placed(a).orderId).not.toBe(placed(b).orderId);
  });
});

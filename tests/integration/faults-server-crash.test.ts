import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const it = stackTest({ server: { LEASE_MS: '3000', SWEEP_INTERVAL_MS: '200' } });

/**
 * docs/architecture.md#a-server-crashes / I7: a server killed between the reservation and the
 * publish leaves an orphan reservation; the sweeper of another server process publishes it exactly
 * once, and the client's retry with the same key learns the outcome (409 while in flight, then
 * replay).
 */
describe('server kill -9 between reserve and publish', () => {
  it('I7: the orphan is published once by the other server; the retry gets 409 then the replay', async ({
    stack,
    server: survivor,
  }) => {
    const admin = await stack.admin(survivor.url);
    await createSale(admin, { id: 'crash', totalStock: 10, perUserLimit: 3 });
    const doomed = await stack.spawnServer({ LEASE_MS: '3000', SURGE_FAULT_EXIT_AFTER_RESERVE: 'true' });
    const shopper = new TestClient(doomed.url);
    await shopper.startSession();
    const input = { saleId: 'crash', quantity: 2, idempotencyKey: 'crash-retry-key-1' };

    // The dying server never answers: an indeterminate outcome for the client.
    await expect(shopper.mutate('order.place', input)).rejects.toThrow();
    await eventually(async () => doomed.child.exitCode !== null || doomed.child.signalCode !== null);
    expect(doomed.child.signalCode).toBe('SIGKILL');
    expect((await hotState(stack.ns, 'crash')).outbox).toBe(1);

    // Same cookie, other server: the key is still `reserved` under the dead server's lease.
    const retry = new TestClient(survivor.url);
    retry.cookies = shopper.cookies;
    const inFlight = await retry.mutate('order.place', input);
    expect(inFlight.status).toBe(409);
    expect(reasonOf(inFlight)).toBe('IDEMPOTENCY_IN_FLIGHT');

    const replay = await eventually(async () => {
      const a = await retry.mutate<{ orderId: string; replayed: boolean; status: string }>(
        'order.place',
        input,
      );
      return a.status === 200 ? a : null;
    }, 20_000);
    expect(replay.body.result?.data).toMatchObject({ replayed: true, status: 'PENDING' });
    const orderId = replay.body.result?.data.orderId;

    const messages = (await streamMessages(stack.ns)).filter((m) => m.msg.orderId === orderId);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.msg).toMatchObject({
      saleId: 'crash',
      quantity: 2,
      idempotencyKey: input.idempotencyKey,
    });
    const state = await hotState(stack.ns, 'crash');
    expect(state.outbox).toBe(0);
    expect(state.hot.remaining).toBe('8');
    // Once more after further sweeps: still exactly one message.
    await new Promise((r) => setTimeout(r, 600));
    expect((await streamMessages(stack.ns)).filter((m) => m.msg.orderId === orderId)).toHaveLength(1);
  });
});

import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const readyz = async (url: string) =>
  (await fetch(`${url}/readyz`)).json() as Promise<{ nats: string; breaker: string; ready: boolean }>;

/** The server's NATS is a private one that the test stops and starts. */
const withPrivateNats = stackTest({ private: { nats: true }, server: { BREAKER_HALF_OPEN_MS: '500' } });
/** A stream of 2 KiB holds a handful of orders; then JetStream refuses (discard: new). */
const withTinyStream = stackTest({ server: { STREAM_MAX_BYTES: '2048', BREAKER_FAILURES: '1000' } });

/**
 * docs/architecture.md#nats-outage: the order path when the queue is unavailable: nothing is
 * reserved while NATS is down (replay-only mode, the breaker held open), and a definite publish
 * failure (stream full) gives stock, quota and key back.
 */
describe('NATS not connected', () => {
  withPrivateNats(
    'answers 503 QUEUE_UNAVAILABLE at once with nothing reserved; the breaker opens, then closes when NATS is back',
    async ({ stack, server, nats }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'nats-down', totalStock: 10, perUserLimit: 5 });
      const u = new TestClient(server.url);
      const userId = await u.startSession();
      expect(
        (await u.mutate('order.place', { saleId: 'nats-down', quantity: 1, idempotencyKey: 'before-outage' }))
          .status,
      ).toBe(200);
      const before = await hotState(stack.ns, 'nats-down');

      await nats.stop();
      await eventually(async () => (await readyz(server.url)).nats === 'down');
      expect((await readyz(server.url)).breaker).toBe('open');

      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          u.mutate('order.place', { saleId: 'nats-down', quantity: 1, idempotencyKey: `during-outage-${i}` }),
        ),
      );
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(reasonOf(a)).toBe('QUEUE_UNAVAILABLE');
        expect(a.body.error?.data.retryAfterMs).toBeGreaterThan(0);
      }
      const during = await hotState(stack.ns, 'nats-down');
      expect(during.hot.remaining).toBe(before.hot.remaining);
      expect(during.users[userId]).toBe('1');
      expect(Object.keys(during.idem)).toHaveLength(1);
      // The order accepted before the outage still replays: replay-only mode answers existing keys.
      const replay = await u.mutate<{ replayed: boolean }>('order.place', {
        saleId: 'nats-down',
        quantity: 1,
        idempotencyKey: 'before-outage',
      });
      expect(replay.body.result?.data.replayed).toBe(true);

      await nats.start();
      await eventually(async () => {
        const r = await readyz(server.url);
        return r.nats === 'ok' && r.breaker === 'closed';
      }, 30_000);
      const after = await u.mutate('order.place', {
        saleId: 'nats-down',
        quantity: 1,
        idempotencyKey: 'after-outage-1',
      });
      expect(after.status).toBe(200);
    },
  );
});

describe('stream full', () => {
  withTinyStream(
    'a definite publish failure releases the reservation: stock, quota and key back, QUEUE_UNAVAILABLE',
    async ({ stack, server }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'full', totalStock: 1000, perUserLimit: 100 });
      const u = new TestClient(server.url);
      const userId = await u.startSession();
      const answers = [];
      for (let i = 0; i < 30; i++) {
        answers.push(
          await u.mutate('order.place', {
            saleId: 'full',
            quantity: 1,
            idempotencyKey: `fill-the-stream-${i}`,
          }),
        );
      }
      const accepted = answers.filter((a) => a.status === 200).length;
      const refused = answers.filter((a) => reasonOf(a) === 'QUEUE_UNAVAILABLE');
      expect(accepted).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      expect(accepted + refused.length).toBe(30);

      const state = await hotState(stack.ns, 'full');
      expect(Number(state.hot.remaining)).toBe(1000 - accepted);
      expect(Number(state.users[userId])).toBe(accepted);
      expect(Object.keys(state.idem)).toHaveLength(accepted);
      expect(state.open).toBe(accepted);
      expect(state.outbox).toBe(0);
      // The refused key is free again: judged afresh (and refused again while the stream is full).
      const again = await u.mutate('order.place', {
        saleId: 'full',
        quantity: 1,
        idempotencyKey: 'fill-the-stream-29',
      });
      expect(reasonOf(again)).toBe('QUEUE_UNAVAILABLE');
    },
  );
});

import { natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { NO_RESPONDERS_GRACE_MS } from '../../apps/server/src/orders/publisher.ts';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { firstAccepted, readyz } from '../support/recovery.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

/**
 * Recovery after the publish breaker opened while the NATS connection stayed up: the breaker
 * gets its trial calls (a probe of the stream), intake resumes within about
 * BREAKER_HALF_OPEN_MS of the cause going away, and the sweeper settles reservations whatever
 * the breaker says. Each test prints the recovery time it measured (cause gone → first
 * accepted order).
 */

const withSmallStream = stackTest({ server: { STREAM_MAX_BYTES: '16KiB', BREAKER_HALF_OPEN_MS: '2000' } });
describe('the breaker opens on a full stream while NATS stays connected', () => {
  withSmallStream(
    'stream full → breaker open (readyz stays 200) → a worker drains it → intake resumes by itself',
    async ({ stack, server }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'full', totalStock: 10_000, perUserLimit: 100 });
      const u = new TestClient(server.url);
      await u.startSession();

      // Fill the stream until the breaker opens: five refusals in a row.
      const accepted = new Set<string>();
      let n = 0;
      while ((await readyz(server.url)).body.breaker !== 'open') {
        const a = await u.mutate<{ orderId: string }>('order.place', {
          saleId: 'full',
          quantity: 1,
          idempotencyKey: `fill-the-stream-${n++}`,
        });
        if (a.status === 200 && a.body.result) accepted.add(a.body.result.data.orderId);
        else expect(reasonOf(a)).toBe('QUEUE_UNAVAILABLE');
        expect(n).toBeLessThan(500);
      }
      expect(accepted.size).toBeGreaterThan(0);
      const open = await readyz(server.url);
      // Every server shares NATS: a load balancer that dropped them all would stop recovery.
      expect(open.status).toBe(200);
      expect(open.body).toMatchObject({ ready: true, nats: 'ok', breaker: 'open' });
      const refused = await u.mutate('order.place', {
        saleId: 'full',
        quantity: 1,
        idempotencyKey: 'while-breaker-open',
      });
      expect(reasonOf(refused)).toBe('QUEUE_UNAVAILABLE');

      // The cause goes away: a worker drains the stream.
      await stack.worker();
      const { jsm } = server.services.stores.nats;
      await eventually(
        async () => (await jsm.streams.info(natsNames(stack.ns).stream)).state.messages === 0,
        30_000,
      );
      const drainedAt = Date.now();
      await firstAccepted(u, 'full', 'after-drain', 15_000);
      const recoveryMs = Date.now() - drainedAt;
      console.log(
        `[recovery] stream full, drained → first accepted order: ${recoveryMs} ms (BREAKER_HALF_OPEN_MS=2000)`,
      );
      expect((await readyz(server.url)).body.breaker).toBe('closed');
    },
  );
});

const withStreamToLose = stackTest({
  private: { nats: true },
  server: { BREAKER_HALF_OPEN_MS: '1000' },
  worker: {},
});

describe('the orders stream disappears (JetStream lost its store, or it was deleted)', () => {
  withStreamToLose(
    'the server declares it again and intake resumes; the worker consumes again; orders are persisted',
    async ({ stack, server, nats }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'lost-stream', totalStock: 100, perUserLimit: 50 });
      const u = new TestClient(server.url);
      await u.startSession();
      const first = await u.mutate('order.place', {
        saleId: 'lost-stream',
        quantity: 1,
        idempotencyKey: 'before-the-loss',
      });
      expect(first.status).toBe(200);
      await eventually(
        async () =>
          (await server.services.stores.prisma.order.count({ where: { status: 'CONFIRMED' } })) === 1,
      );

      await server.services.stores.nats.jsm.streams.delete(natsNames(stack.ns).stream);
      const lostAt = Date.now();
      const accepted = await firstAccepted(u, 'lost-stream', 'after-the-loss', 20_000);
      console.log(`[recovery] orders stream deleted → first accepted order after ${Date.now() - lostAt} ms`);
      const orderId = (accepted.body as { result?: { data: { orderId: string } } }).result?.data.orderId;
      await eventually(
        async () =>
          (await server.services.stores.prisma.order.findUnique({ where: { id: orderId ?? '' } }))?.status ===
          'CONFIRMED',
        20_000,
      );
      expect(nats.pid()).toBeDefined();
    },
  );
});

const withStreamToLoseAlone = stackTest({
  private: { nats: true },
  server: { BREAKER_HALF_OPEN_MS: '1000' },
});

describe('the orders stream disappears while no worker runs', () => {
  withStreamToLoseAlone('the server alone declares it again: intake resumes', async ({ stack, server }) => {
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'lost-alone', totalStock: 100, perUserLimit: 50 });
    const u = new TestClient(server.url);
    await u.startSession();
    await server.services.stores.nats.jsm.streams.delete(natsNames(stack.ns).stream);
    const lostAt = Date.now();
    // Nothing takes the subject now: the first order meets "no responders" and is refused
    // (its reservation released) after NO_RESPONDERS_GRACE_MS, not after the whole publish
    // deadline (0.6 × LEASE_MS = 3 s).
    const refused = await u.mutate('order.place', {
      saleId: 'lost-alone',
      quantity: 1,
      idempotencyKey: 'no-responders',
    });
    const refusedAfterMs = Date.now() - lostAt;
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/QUEUE_UNAVAILABLE/);
    expect(refusedAfterMs).toBeGreaterThanOrEqual(NO_RESPONDERS_GRACE_MS);
    expect(refusedAfterMs).toBeLessThan(NO_RESPONDERS_GRACE_MS + 1000);
    await firstAccepted(u, 'lost-alone', 'no-worker', 30_000);
    console.log(
      `[recovery] orders stream deleted, no worker → first accepted order after ${Date.now() - lostAt} ms`,
    );
    const info = await server.services.stores.nats.jsm.streams.info(natsNames(stack.ns).stream);
    expect(info.config.discard).toBe('new');
  });
});

import { describe, expect } from 'vitest';
import { waitForQuiet } from '../support/checker/index.ts';
import { type Answer, reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { checkInvariants } from '../support/invariants.ts';
import { firstAccepted, readyz } from '../support/recovery.ts';
import { eventually, SHARED, sleep } from '../support/services.ts';
import { createSale } from '../support/stack.ts';
import { stallProxy } from '../support/stall-proxy.ts';

/**
 * Recovery after the publish breaker opened while the NATS connection stayed up: the breaker
 * gets its trial calls (a probe of the stream), intake resumes within about
 * BREAKER_HALF_OPEN_MS of the cause going away, and the sweeper settles reservations whatever
 * the breaker says. Each test prints the recovery time it measured (cause gone → first
 * accepted order).
 */

// The server reaches its private NATS through a proxy the test stalls; the worker directly.
const withPrivateNats = stackTest({ private: { nats: true }, server: false, worker: {} });

describe('JetStream stalls longer than the publish deadline, then continues', () => {
  withPrivateNats(
    'OUTCOME_UNKNOWN reservations are settled while the breaker is open; retries get the replay or a definite answer; intake resumes',
    async ({ stack, nats }) => {
      const proxy = await stallProxy({ port: nats.port });
      // LEASE_MS 2000 → publish deadline 1.2 s; the connection's ping (5 s) outlives the stall.
      const server = await stack.server({
        NATS_URL: proxy.url,
        BREAKER_HALF_OPEN_MS: '2000',
        LEASE_MS: '2000',
        SWEEP_INTERVAL_MS: '200',
      });
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'stall', totalStock: 1000, perUserLimit: 10 });
      const shoppers = Array.from({ length: 8 }, () => new TestClient(server.url));
      await Promise.all(shoppers.map((s) => s.startSession()));
      const accepted = new Set<string>();
      const keep = (a: Answer<{ orderId: string }>) => {
        if (a.status === 200 && a.body.result) accepted.add(a.body.result.data.orderId);
      };
      for (const [i, s] of shoppers.slice(0, 2).entries())
        keep(await s.mutate('order.place', { saleId: 'stall', quantity: 1, idempotencyKey: `before-${i}` }));
      expect(accepted.size).toBe(2);

      proxy.stall();
      let stoppedFor = 0;
      let unknown: { client: TestClient; key: string }[] = [];
      try {
        const stopped = Date.now();
        const answers = await Promise.all(
          shoppers.map(async (client, i) => {
            const key = `stalled-${i}`;
            const a = await client.mutate<{ orderId: string }>('order.place', {
              saleId: 'stall',
              quantity: 1,
              idempotencyKey: key,
            });
            return { client, key, a };
          }),
        );
        for (const { a } of answers)
          expect(reasonOf(a), `${a.status} ${JSON.stringify(a.body)}`).toBe('OUTCOME_UNKNOWN');
        unknown = answers.map(({ client, key }) => ({ client, key }));
        expect((await readyz(server.url)).body).toMatchObject({ breaker: 'open', nats: 'ok' });
        // The reservations are in flight: their retries are told so, not double-booked.
        const inFlight = await shoppers[0]?.mutate('order.place', {
          saleId: 'stall',
          quantity: 1,
          idempotencyKey: 'stalled-0',
        });
        expect(reasonOf(inFlight as Answer)).toBe('IDEMPOTENCY_IN_FLIGHT');
        await sleep(Math.max(0, 3000 - (Date.now() - stopped)));
        stoppedFor = Date.now() - stopped;
      } finally {
        proxy.resume();
      }
      const resumedAt = Date.now();
      expect((await readyz(server.url)).body.nats).toBe('ok');

      // The sweeper settles every in-flight reservation although the breaker was open — with no
      // help from the clients' retries (a retry after the lease would re-publish it itself).
      await eventually(async () => (await hotState(stack.ns, 'stall')).outbox === 0, 15_000, 100);
      const settledMs = Date.now() - resumedAt;
      // Each retry with the same key then gets the replay (the order exists) or a definite answer.
      const outcomes = await Promise.all(
        unknown.map(({ client, key }) =>
          eventually(
            async () => {
              const a = await client.mutate<{ orderId: string; replayed: boolean }>('order.place', {
                saleId: 'stall',
                quantity: 1,
                idempotencyKey: key,
              });
              const reason = reasonOf(a);
              if (reason === 'IDEMPOTENCY_IN_FLIGHT' || reason === 'OUTCOME_UNKNOWN') return null;
              return a;
            },
            20_000,
            200,
          ),
        ),
      );
      for (const a of outcomes) {
        // 200 (replay, or accepted afresh once released) or a definite refusal.
        if (a.status === 200) keep(a);
        else expect(reasonOf(a)).toBe('QUEUE_UNAVAILABLE');
      }

      const probe = shoppers[7] as TestClient;
      const first = await firstAccepted(probe, 'stall', 'after-stall', 15_000);
      keep(first as Answer<{ orderId: string }>);
      const recoveryMs = Date.now() - resumedAt;
      console.log(
        `[recovery] JetStream stalled ${stoppedFor} ms: in-flight reservations settled ${settledMs} ms after it resumed; first new order accepted after ${recoveryMs} ms (BREAKER_HALF_OPEN_MS=2000)`,
      );
      expect((await readyz(server.url)).body.breaker).toBe('closed');

      // Quiet, then I1–I3 and I5 hold: nothing oversold, nothing lost, nothing twice.
      await waitForQuiet({
        ns: stack.ns,
        saleId: 'stall',
        redisUrl: SHARED.redis,
        natsUrl: nats.url,
        timeoutMs: 30_000,
      });
      await checkInvariants({
        prisma: server.services.stores.prisma,
        ns: stack.ns,
        saleId: 'stall',
        total: 1000,
        perUserLimit: 10,
        accepted,
      });
      await server.close();
      await proxy.close();
    },
  );
});

import { natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { waitForQuiet } from '../support/checker/index.ts';
import { type Answer, reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { checkInvariants } from '../support/invariants.ts';
import { eventually, SHARED, sleep } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

/**
 * Recovery after the publish breaker opened while the NATS connection stayed up: the breaker
 * gets its trial calls (a probe of the stream), intake resumes within about
 * BREAKER_HALF_OPEN_MS of the cause going away, and the sweeper settles reservations whatever
 * the breaker says. Each test prints the recovery time it measured (cause gone → first
 * accepted order).
 */
const readyz = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; breaker: string; nats: string } };
};

/** Places new orders (fresh keys) every 100 ms until one is accepted; returns its answer. */
async function firstAccepted(client: TestClient, saleId: string, tag: string, timeoutMs: number) {
  let i = 0;
  return eventually(
    async () => {
      const a = await client.mutate('order.place', {
        saleId,
        quantity: 1,
        idempotencyKey: `${tag}-probe-${i++}`,
      });
      return a.status === 200 ? a : null;
    },
    timeoutMs,
    100,
  );
}

const withSmallStream = stackTest({ server: { STREAM_MAX_BYTES: '16KiB', BREAKER_HALF_OPEN_MS: '2000' } });
// LEASE_MS 2000 → publish deadline 1.2 s; the connection's ping (5 s) outlives the stall.
const withPrivateNats = stackTest({
  private: { nats: true },
  server: { BREAKER_HALF_OPEN_MS: '2000', LEASE_MS: '2000', SWEEP_INTERVAL_MS: '200' },
  worker: {},
});

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

describe('JetStream stalls (SIGSTOP) longer than the publish deadline, then continues', () => {
  withPrivateNats(
    'OUTCOME_UNKNOWN reservations are settled while the breaker is open; retries get the replay or a definite answer; intake resumes',
    async ({ stack, server, nats }) => {
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

      const pid = nats.pid();
      if (!pid) throw new Error('no nats pid');
      process.kill(pid, 'SIGSTOP');
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
        process.kill(pid, 'SIGCONT');
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
        `[recovery] JetStream stalled ${stoppedFor} ms: in-flight reservations settled ${settledMs} ms after SIGCONT; first new order accepted after ${recoveryMs} ms (BREAKER_HALF_OPEN_MS=2000)`,
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
    await firstAccepted(u, 'lost-alone', 'no-worker', 30_000);
    console.log(
      `[recovery] orders stream deleted, no worker → first accepted order after ${Date.now() - lostAt} ms`,
    );
    const info = await server.services.stores.nats.jsm.streams.info(natsNames(stack.ns).stream);
    expect(info.config.discard).toBe('new');
  });
});

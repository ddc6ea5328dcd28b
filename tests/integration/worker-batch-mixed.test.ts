import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames } from '@surge/contracts';
import { createSqlPool } from '@surge/db';
import { OrderScripts, saleKeys } from '@surge/hot-state';
import { createLogger } from '@surge/infra';
import { describe, expect, onTestFinished } from 'vitest';
import { deadLetter } from '../../apps/worker/src/dead-letter.ts';
import { createWorkerMetrics } from '../../apps/worker/src/metrics.ts';
import { createPaymentSimulator } from '../../apps/worker/src/payment.ts';
import { type BatchDeps, processBatch } from '../../apps/worker/src/process-batch.ts';
import { History, placeCompletion } from '../support/checker/index.ts';
import type { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, withRedis } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

// No worker: the test is the worker, so that every kind of outcome lands in one batch.
const it = stackTest({});

type Placed = { orderId: string; status: string };

/**
 * docs/architecture.md#the-workers-batch: one batch claims every order of a sale in one script
 * call, inserts them in one statement, decides their payments in one UPDATE and finishes them in
 * one script call — and one order's outcome never decides another's. A single batch here holds
 * new orders (every other payment declined), a JetStream redelivery of an order already final,
 * a second copy of a new order, a message from before the sale's rebuild (stale epoch), a forged
 * epoch and an unreadable message; the shared checker judges the sale afterwards.
 */
describe('one worker batch with mixed outcomes', () => {
  it('I1–I5: payment failures, a redelivery, a duplicate, a stale epoch, a forgery and poison in one batch', async ({
    stack,
    server,
    admin,
  }) => {
    const saleId = 'mixed';
    await createSale(admin, { id: saleId, totalStock: 40, perUserLimit: 5 });
    // Redis loses the sale before any order: the rebuild moves the epoch to 2, so an epoch-1
    // message is one reserved before the rebuild and never seen by it.
    await withRedis(async (r) => {
      const keys = await r.keys(`${stack.ns}:{sale:${saleId}}:*`);
      await r.del(...keys);
    });
    await eventually(
      async () =>
        (await admin.query<{ state: string }>('sale.get', { saleId })).body.result?.data.state === 'live',
    );
    expect((await hotState(stack.ns, saleId)).hot.epoch).toBe('2');

    const users = await shoppers(server.url, 6);
    const history = new History();
    const answers = [];
    for (let i = 0; i < 12; i++) {
      const u = users[i % users.length] as TestClient;
      const input = { saleId, quantity: 1 + (i % 2), idempotencyKey: `mixed-key-${i}` };
      answers.push(
        await history.record(
          `shopper-${i % users.length}`,
          { f: 'place', value: { ...input, userId: u.userId } },
          () => u.mutate<Placed>('order.place', input),
          placeCompletion,
        ),
      );
    }
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const accepted = new Set(answers.map((a) => a.body.result?.data.orderId ?? ''));

    const { prisma, nats, redis } = server.services.stores;
    // The worker's per-batch statements go through a plain pg pool (createSqlPool).
    const sql = createSqlPool(stack.db.url);
    onTestFinished(() => sql.end());
    const names = natsNames(stack.ns);
    await nats.jsm.consumers.add(names.stream, {
      durable_name: names.consumer,
      filter_subject: names.subjectAll,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 30_000_000_000,
    });
    const consumer = await nats.js.consumers.get(names.stream, names.consumer);
    const fetchAll = async (n: number): Promise<JsMsg[]> => {
      const got: JsMsg[] = [];
      while (got.length < n) {
        const batch = await consumer.fetch({ max_messages: n - got.length, expires: 2000 });
        for await (const m of batch) got.push(m);
      }
      return got;
    };

    let coin = 0;
    const metrics = createWorkerMetrics();
    const deps: BatchDeps = {
      env: { SURGE_FAULT_WORKER_CRASH: '' },
      log: createLogger('silent', 'test-worker'),
      prisma,
      sql,
      scripts: new OrderScripts(redis),
      metrics,
      // Every other decision declines the card.
      payment: createPaymentSimulator({ failureRate: 0.5, latencyMs: 0, random: () => (coin++ % 2) * 0.9 }),
      keysOf: (id) => saleKeys(stack.ns, id),
      deadLetter: (d, reason) => deadLetter({ ...deps, metrics }, d, reason),
      holdFor: async () => undefined,
    };

    // The first order is processed and made final, but its ack is lost (a worker killed just
    // before acking): JetStream delivers it again.
    const [first] = await fetchAll(1);
    if (!first) throw new Error('no message');
    const ackLost = new Proxy(first, {
      get: (m, p) => (p === 'ack' ? () => undefined : Reflect.get(m, p, m)),
    });
    expect(await processBatch(deps, [ackLost])).toBe(1);
    first.nak();

    const publish = async (body: object | string, epoch: number, msgID: string) => {
      const h = natsHeaders();
      h.set(MSG_HEADERS.epoch, String(epoch));
      h.set(MSG_HEADERS.correlationId, `corr-${msgID}`);
      const data = typeof body === 'string' ? body : JSON.stringify(body);
      await nats.js.publish(names.subjectOf(saleId), data, { headers: h, msgID });
    };
    // A second copy of a new order (a sweeper's re-publish racing the first).
    const second = await nats.jsm.streams.getMessage(names.stream, { seq: first.seq + 1 });
    if (!second) throw new Error('no second message');
    const copied = second.json<{ orderId: string }>();
    await publish(copied, 2, `copy-of-${copied.orderId}`);
    const recordless = (orderId: string, epoch: number) => ({
      orderId,
      saleId,
      userId: 'u_recordless01',
      quantity: 1,
      idempotencyKey: `key-${orderId}`,
      epoch,
      correlationId: `corr-${orderId}`,
      reservedAt: new Date().toISOString(),
    });
    await publish(recordless('stale-epoch-order', 1), 1, 'stale-epoch-order');
    await publish(recordless('forged-epoch-order', 99), 99, 'forged-epoch-order');
    await publish('{not json', 2, 'poison-message');

    // 11 new orders, the redelivery, the copy, the stale, the forged and the poison: one batch.
    const batch = await fetchAll(16);
    expect(batch.some((m) => m.seq === first.seq && m.info.deliveryCount === 2)).toBe(true);
    await processBatch(deps, batch);

    // Every message is acked or terminated; acks are sent without waiting for JetStream's reply,
    // so the consumer's counts are polled until they settle (a missing ack never does).
    const info = await eventually(async () => {
      const i = await nats.jsm.consumers.info(names.stream, names.consumer);
      return i.num_ack_pending === 0 ? i : null;
    }, 10_000);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    await waitForDrain(stack.ns, saleId);

    const rows = await prisma.order.findMany({ where: { saleId } });
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    const letters = await prisma.deadLetter.findMany({ where: { saleId } });
    expect(letters.map((l) => l.reason.split(':')[0]).sort()).toEqual(['FORGED_EPOCH']);
    expect(await prisma.deadLetter.count({ where: { reason: { startsWith: 'UNPARSEABLE' } } })).toBe(1);

    const r = await checkInvariants({
      prisma,
      ns: stack.ns,
      saleId,
      total: 40,
      perUserLimit: 5,
      accepted,
      history: history.events,
    });
    expect(r.byStatus.CONFIRMED ?? 0).toBeGreaterThan(0);
    expect(r.byStatus.FAILED_PAYMENT ?? 0).toBeGreaterThan(0);
    expect(r.byStatus.PENDING ?? 0).toBe(0);
  });
});

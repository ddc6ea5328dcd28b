import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, type TestServer } from '../support/stack.ts';

type Outcome = { id: string; outcome: string; reason?: string };

const it = stackTest({ worker: {} });
/** A private NATS, stopped by the test. */
const withPrivateNats = stackTest({ private: { nats: true }, server: { BREAKER_HALF_OPEN_MS: '500' } });

/**
 * docs/architecture.md#dead-letters-and-replay: admin.dlq.list / replay / discard. A replay never
 * resurrects an order without stock.
 */
describe('dead letters from the control center', () => {
  /** A FAILED order with its dead letter, as the worker leaves them (units already returned). */
  async function deadLetteredOrder(server: TestServer, saleId: string, userId: string, quantity: number) {
    const orderId = randomUUID();
    await server.services.stores.prisma.order.create({
      data: {
        id: orderId,
        saleId,
        userId,
        quantity,
        idempotencyKey: `dl-${orderId.slice(0, 8)}`,
        status: 'FAILED',
        failureReason: 'UNCLASSIFIED: test',
        correlationId: `corr-${orderId.slice(0, 8)}`,
        epoch: 1,
      },
    });
    const letter = await server.services.stores.prisma.deadLetter.create({
      data: {
        orderId,
        saleId,
        reason: 'UNCLASSIFIED after 10 failed attempts: test',
        payload: '{}',
        firstSeenAt: new Date(),
      },
    });
    return { orderId, letterId: letter.id };
  }

  it('list shows dead letters with whether they can be replayed; guests get NOT_ADMIN', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'dlq-list', totalStock: 10, perUserLimit: 5 });
    const { letterId } = await deadLetteredOrder(server, 'dlq-list', 'u_list_user', 1);
    const garbage = await server.services.stores.prisma.deadLetter.create({
      data: { reason: 'UNPARSEABLE: not JSON', payload: '{x', firstSeenAt: new Date() },
    });
    const list = await admin.query<{ id: string; replayable: boolean }[]>('admin.dlq.list');
    const byId = new Map(list.body.result?.data.map((d) => [d.id, d]));
    expect(byId.get(letterId)?.replayable).toBe(true);
    expect(byId.get(garbage.id)?.replayable).toBe(false);
    expect(reasonOf(await new TestClient(server.url).query('admin.dlq.list'))).toBe('NOT_ADMIN');
  });

  it('replay re-reserves, publishes the replay generation, and the worker moves the FAILED row on', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'dlq-replay', totalStock: 10, perUserLimit: 5 });
    const shopper = new TestClient(server.url);
    const userId = await shopper.startSession();
    const { orderId, letterId } = await deadLetteredOrder(server, 'dlq-replay', userId, 3);
    const r = await admin.mutate<Outcome[]>('admin.dlq.replay', { ids: [letterId] });
    expect(r.body.result?.data).toEqual([{ id: letterId, outcome: 'replayed' }]);
    await waitForDrain(stack.ns, 'dlq-replay');
    const row = await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(row).toMatchObject({ status: 'CONFIRMED', replayGen: 1 });
    expect(await server.services.stores.prisma.deadLetter.count({ where: { id: letterId } })).toBe(0);
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'dlq-replay',
      total: 10,
      perUserLimit: 5,
      accepted: new Set([orderId]),
    });
    // The shopper sees it too.
    expect((await shopper.query<{ status: string }>('order.get', { orderId })).body.result?.data.status).toBe(
      'CONFIRMED',
    );
  });

  it('a refused re-reservation (sold out) keeps the dead letter with the new reason and changes nothing', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'dlq-soldout', totalStock: 0, perUserLimit: 5 });
    const { orderId, letterId } = await deadLetteredOrder(server, 'dlq-soldout', 'u_soldout_user', 1);
    const r = await admin.mutate<Outcome[]>('admin.dlq.replay', { ids: [letterId] });
    expect(r.body.result?.data).toEqual([
      { id: letterId, outcome: 'kept', reason: 'replay refused: SOLD_OUT' },
    ]);
    const row = await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
    expect(row).toMatchObject({ status: 'FAILED', replayGen: 0 });
    expect(
      (await server.services.stores.prisma.deadLetter.findUniqueOrThrow({ where: { id: letterId } })).reason,
    ).toBe('replay refused: SOLD_OUT');
    expect((await hotState(stack.ns, 'dlq-soldout')).hot.remaining).toBe('0');
  });

  it('two admins replaying the same letter at once replay it once', async ({ stack, server, admin }) => {
    await createSale(admin, { id: 'dlq-race', totalStock: 10, perUserLimit: 5 });
    const { orderId, letterId } = await deadLetteredOrder(server, 'dlq-race', 'u_race_user', 2);
    const other = await stack.admin(server.url);
    const [a, b] = await Promise.all([
      admin.mutate<Outcome[]>('admin.dlq.replay', { ids: [letterId] }),
      other.mutate<Outcome[]>('admin.dlq.replay', { ids: [letterId] }),
    ]);
    const outcomes = [a, b]
      .flatMap((x) => x.body.result?.data ?? [])
      .map((o) => o.outcome)
      .sort();
    expect(outcomes.filter((o) => o === 'replayed')).toHaveLength(1);
    await waitForDrain(stack.ns, 'dlq-race');
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'dlq-race',
      total: 10,
      perUserLimit: 5,
      accepted: new Set([orderId]),
    });
  });

  it('discard removes dead letters; unknown ids are reported, not errors', async ({ server, admin }) => {
    await createSale(admin, { id: 'dlq-discard', totalStock: 1, perUserLimit: 1 });
    const { letterId } = await deadLetteredOrder(server, 'dlq-discard', 'u_discard', 1);
    const r = await admin.mutate<Outcome[]>('admin.dlq.discard', { ids: [letterId, 'not-a-uuid'] });
    expect(r.body.result?.data).toEqual([
      { id: letterId, outcome: 'removed' },
      { id: 'not-a-uuid', outcome: 'not-found' },
    ]);
    const audit = await server.services.stores.prisma.adminAudit.findMany({
      where: { action: { startsWith: 'admin.dlq' } },
    });
    expect(audit.map((x) => x.action)).toEqual(
      expect.arrayContaining(['admin.dlq.replay', 'admin.dlq.discard']),
    );
  });
});

describe('a dead-letter replay that cannot be published', () => {
  withPrivateNats(
    'I4: the order stays FAILED with its key, the letter is kept with the reason, stock is unchanged',
    async ({ stack, server, nats }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'dlq-nats', totalStock: 10, perUserLimit: 5 });
      const shopper = new TestClient(server.url);
      const userId = await shopper.startSession();
      const orderId = randomUUID();
      await server.services.stores.prisma.order.create({
        data: {
          id: orderId,
          saleId: 'dlq-nats',
          userId,
          quantity: 2,
          idempotencyKey: 'failed-order-key',
          status: 'FAILED',
          correlationId: 'c-dlq-nats',
          epoch: 1,
        },
      });
      const letter = await server.services.stores.prisma.deadLetter.create({
        data: {
          orderId,
          saleId: 'dlq-nats',
          reason: 'UNCLASSIFIED: test',
          payload: '{}',
          firstSeenAt: new Date(),
        },
      });
      // Redis learns the FAILED order and its key from PostgreSQL.
      expect((await admin.mutate('admin.flushCache', { saleId: 'dlq-nats' })).status).toBe(200);

      await nats.stop();
      await eventually(async () => (await (await fetch(`${server.url}/readyz`)).json()).nats === 'down');
      const r = await admin.mutate<Outcome[]>('admin.dlq.replay', { ids: [letter.id] });
      expect(r.body.result?.data).toEqual([
        { id: letter.id, outcome: 'kept', reason: 'replay refused: QUEUE_UNAVAILABLE' },
      ]);
      expect(
        await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } }),
      ).toMatchObject({
        status: 'FAILED',
        replayGen: 0,
      });
      const state = await hotState(stack.ns, 'dlq-nats');
      expect(state.hot.remaining).toBe('10');
      expect(state.idem[`${userId} failed-order-key`]).toBe(orderId);
      // The shopper's retry with the old key replays the failed order: it never buys twice.
      const again = await shopper.mutate<{ orderId: string; status: string; replayed: boolean }>(
        'order.place',
        {
          saleId: 'dlq-nats',
          quantity: 2,
          idempotencyKey: 'failed-order-key',
        },
      );
      expect(again.body.result?.data).toMatchObject({ orderId, status: 'FAILED', replayed: true });
    },
  );
});

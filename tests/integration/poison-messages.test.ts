import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

/** Each suite its own stack: the dead letters of one are not the other's. */
const poisoned = stackTest();
const copied = stackTest();

/**
 * docs/architecture.md#dead-letters-and-replay: messages that can never be processed are
 * dead-lettered at once with their reason — stock comes back only where a reservation exists — and
 * the worker keeps going.
 */
describe('poison messages', () => {
  poisoned(
    'garbage, an order for a missing sale and a message disagreeing with its reservation are dead-lettered; the worker keeps going',
    async ({ stack, server }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'poison', totalStock: 20, perUserLimit: 5 });
      const subjects = natsNames(stack.ns);
      const js = server.services.stores.nats.js;
      const u = new TestClient(server.url);
      const userId = await u.startSession();

      // A real reservation whose message we replace by a tampered one (quantity 5 instead of 2):
      // we hold the real publish back by reserving while the worker is not running yet.
      const real = await u.mutate<{ orderId: string }>('order.place', {
        saleId: 'poison',
        quantity: 2,
        idempotencyKey: 'tampered-order',
      });
      const orderId = real.body.result?.data.orderId ?? '';
      await server.services.stores.nats.jsm.streams.purge(subjects.stream, {
        filter: subjects.subjectOf('poison'),
      });
      expect(Number((await hotState(stack.ns, 'poison')).hot.remaining)).toBe(18);

      const h = (epoch: number) => {
        const x = natsHeaders();
        x.set(MSG_HEADERS.epoch, String(epoch));
        x.set(MSG_HEADERS.correlationId, 'poison-test');
        return x;
      };
      const order = (o: Record<string, unknown>) =>
        JSON.stringify({
          userId,
          quantity: 1,
          idempotencyKey: 'poison-key-1',
          epoch: 1,
          correlationId: 'poison-test',
          reservedAt: new Date().toISOString(),
          ...o,
        });
      await js.publish(subjects.subjectOf('poison'), '{not json', { headers: h(1), msgID: 'garbage-1' });
      await js.publish(subjects.subjectOf('ghost'), order({ orderId: 'ghost-order', saleId: 'ghost' }), {
        headers: h(1),
        msgID: 'ghost-1',
      });
      await js.publish(
        subjects.subjectOf('poison'),
        order({ orderId, saleId: 'poison', quantity: 5, idempotencyKey: 'tampered-order' }),
        {
          headers: h(1),
          msgID: 'tampered-1',
        },
      );

      await stack.worker();
      // The worker keeps going: a good order placed after the poison is processed.
      const good = await u.mutate<{ orderId: string }>('order.place', {
        saleId: 'poison',
        quantity: 1,
        idempotencyKey: 'after-poison-1',
      });
      const goodId = good.body.result?.data.orderId ?? '';
      await eventually(async () => (await streamMessages(stack.ns)).length === 0);
      await waitForDrain(stack.ns, 'poison');

      const letters = await server.services.stores.prisma.deadLetter.findMany({
        orderBy: { firstSeenAt: 'asc' },
      });
      expect(letters.map((l) => l.reason.split(':')[0]).sort()).toEqual([
        'RECORD_MISMATCH',
        'SALE_NOT_FOUND',
        'UNPARSEABLE',
      ]);
      expect(letters.find((l) => l.reason.startsWith('RECORD_MISMATCH'))).toMatchObject({
        orderId,
        saleId: 'poison',
        correlationId: 'poison-test',
      });
      expect(letters.find((l) => l.reason.startsWith('UNPARSEABLE'))?.payload).toBe('{not json');

      // The tampered order's row is FAILED and its 2 units came back; the ghost sale returned nothing.
      const row = await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
      expect(row.status).toBe('FAILED');
      expect(
        (await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: goodId } })).status,
      ).toBe('CONFIRMED');
      await checkInvariants({
        prisma: server.services.stores.prisma,
        ns: stack.ns,
        saleId: 'poison',
        total: 20,
        perUserLimit: 5,
        accepted: new Set([orderId, goodId]),
      });
      expect(Number((await hotState(stack.ns, 'poison')).hot.remaining)).toBe(19);
    },
  );
});

describe('a poison copy of a real order', () => {
  copied(
    'I3: when a broken copy settles the reservation first, the real message still leaves exactly one final row',
    async ({ stack, server }) => {
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'copy', totalStock: 10, perUserLimit: 5 });
      const names = natsNames(stack.ns);
      const u = new TestClient(server.url);
      await u.startSession();
      const placed = await u.mutate<{ orderId: string }>('order.place', {
        saleId: 'copy',
        quantity: 2,
        idempotencyKey: 'real-order-01',
      });
      const orderId = placed.body.result?.data.orderId ?? '';
      const real = await server.services.stores.nats.jsm.streams.getMessage(names.stream, {
        last_by_subj: names.subjectOf('copy'),
      });
      if (!real) throw new Error('the real message is not in the stream');
      await server.services.stores.nats.jsm.streams.purge(names.stream, { filter: names.subjectOf('copy') });
      // The broken copy (invalid quantity, ids intact) first, the real message after it.
      const broken = { ...real.json<Record<string, unknown>>(), quantity: 0 };
      await server.services.stores.nats.js.publish(names.subjectOf('copy'), JSON.stringify(broken), {
        headers: real.header,
        msgID: 'broken-copy',
      });
      await server.services.stores.nats.js.publish(names.subjectOf('copy'), real.data, {
        headers: real.header,
        msgID: 'real-again',
      });

      await stack.worker();
      await waitForDrain(stack.ns, 'copy');
      const row = await server.services.stores.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
      expect(row.status).toBe('FAILED');
      expect(await server.services.stores.prisma.deadLetter.count()).toBe(1);
      await checkInvariants({
        prisma: server.services.stores.prisma,
        ns: stack.ns,
        saleId: 'copy',
        total: 10,
        perUserLimit: 5,
        accepted: new Set([orderId]),
      });
    },
  );
});

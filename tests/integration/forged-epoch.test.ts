import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

const it = stackTest({ worker: {} });

/**
 * README.md#security / issue 10 M2: anyone who reaches NATS could oversell with a message carrying no
 * reservation and a huge epoch — the worker used to persist every record-less message whose
 * epoch was ≥ the sale's. Now only exactly the current epoch is persisted (the recovery path
 * after Redis lost a record); a newer one is a forgery: a dead letter, no order row, and
 * admin.dlq.replay refuses it.
 */
describe('forged epochs (M2)', () => {
  it('a record-less message with an epoch newer than the sale’s is dead-lettered: no row, nothing sold, replay refused', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'forge', totalStock: 5, perUserLimit: 5 });
    const { prisma, nats } = server.services.stores;
    const epoch = (await prisma.sale.findUniqueOrThrow({ where: { id: 'forge' } })).epoch;
    const names = natsNames(stack.ns);
    const publish = async (orderId: string, e: number, key: string) => {
      const h = natsHeaders();
      h.set(MSG_HEADERS.epoch, String(e));
      h.set(MSG_HEADERS.correlationId, `forge-${orderId}`);
      const body = {
        orderId,
        saleId: 'forge',
        userId: 'u_forgedforged',
        quantity: 5,
        idempotencyKey: key,
        epoch: e,
        correlationId: `forge-${orderId}`,
        reservedAt: new Date().toISOString(),
      };
      await nats.js.publish(names.subjectOf('forge'), JSON.stringify(body), { headers: h, msgID: orderId });
    };
    await publish('forged-order-1', 999_999, 'forged-key-0001');
    await publish('forged-order-2', epoch + 1, 'forged-key-0002');
    // Exactly the current epoch: the recovery path of a record Redis lost, persisted as before.
    await publish('recordless-now', epoch, 'recordless-key-01');
    await eventually(async () => (await streamMessages(stack.ns)).length === 0);

    const letters = await eventually(async () => {
      const l = await prisma.deadLetter.findMany({ where: { saleId: 'forge' } });
      return l.length === 2 ? l : null;
    });
    expect(letters.map((l) => l.orderId).sort()).toEqual(['forged-order-1', 'forged-order-2']);
    for (const l of letters) expect(l.reason).toMatch(/^FORGED_EPOCH/);
    expect(await prisma.order.count({ where: { id: { in: ['forged-order-1', 'forged-order-2'] } } })).toBe(0);
    expect(await prisma.order.findUnique({ where: { id: 'recordless-now' } })).not.toBeNull();
    // Nothing of the stock moved for the forgeries.
    expect((await hotState(stack.ns, 'forge')).hot.remaining).toBe('5');

    const replay = await admin.mutate<{ id: string; outcome: string }[]>('admin.dlq.replay', {
      ids: letters.map((l) => l.id),
    });
    expect(replay.status).toBe(200);
    for (const r of replay.body.result?.data ?? []) expect(r.outcome).toBe('kept');
    expect(await prisma.order.count({ where: { id: { in: ['forged-order-1', 'forged-order-2'] } } })).toBe(0);
  });
});

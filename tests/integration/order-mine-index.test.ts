import { saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { OrderQueries } from '../../apps/server/src/orders/order-queries.ts';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { SHARED } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

/**
 * README.md#security / issue 10 H2: order.mine reads the caller's own index, never the sale's whole
 * backlog. No worker runs, so every order stays an open reservation in Redis; the Redis work
 * of one order.mine call (commands and the arguments they carry) is the same with 5 or 45
 * other users' open orders.
 */
const it = stackTest();

describe('order.mine (H2)', () => {
  it('costs the same Redis commands however many other users hold open orders', async ({
    stack,
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'mine-idx', totalStock: 1000, perUserLimit: 5 });
    await createSale(admin, { id: 'mine-other', totalStock: 1000, perUserLimit: 5 });
    const me = new TestClient(server.url);
    const userId = await me.startSession();
    let n = 0;
    const buy = (c: TestClient, saleId = 'mine-idx') =>
      c.mutate<{ orderId: string }>('order.place', {
        saleId,
        quantity: 1,
        idempotencyKey: `mine-${n++}-key`,
      });
    const mine = (await buy(me)).body.result?.data.orderId;
    await buy(me, 'mine-other');

    const redis = new Redis(SHARED.redis);
    const counted = { commands: 0, args: 0 };
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((cmd: { args: unknown[] }, ...rest: unknown[]) => {
      counted.commands++;
      counted.args += cmd.args.length;
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as typeof redis.sendCommand;
    const queries = new OrderQueries({
      prisma: server.services.stores.prisma,
      redis,
      keysOf: (s) => saleKeys(stack.ns, s),
      saleIds: () => ['mine-idx', 'mine-other'],
    });
    const measure = async (saleId?: string) => {
      await redis.ping();
      counted.commands = 0;
      counted.args = 0;
      const views = await queries.mine(userId, saleId);
      return { views, ...counted };
    };
    try {
      const others = async (count: number) => {
        for (const c of await shoppers(server.url, count)) expect((await buy(c)).status).toBe(200);
      };
      await others(5);
      const few = await measure('mine-idx');
      const fewAll = await measure();
      await others(40);
      const many = await measure('mine-idx');
      const manyAll = await measure();
      expect(few.views.map((v) => v.orderId)).toEqual([mine]);
      expect(many.views.map((v) => v.orderId)).toEqual([mine]);
      expect(manyAll.views).toHaveLength(2);
      expect({ commands: many.commands, args: many.args }).toEqual({
        commands: few.commands,
        args: few.args,
      });
      expect({ commands: manyAll.commands, args: manyAll.args }).toEqual({
        commands: fewAll.commands,
        args: fewAll.args,
      });
      expect(many.commands).toBeLessThanOrEqual(2);
      // Through the API too: my open orders, nobody else's.
      const api = await me.query<{ orderId: string }[]>('order.mine', { saleId: 'mine-idx' });
      expect(api.body.result?.data.map((v) => v.orderId)).toEqual([mine]);
    } finally {
      redis.disconnect();
    }
  });
});

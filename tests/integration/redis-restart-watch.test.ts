import { OrderScripts, saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRestartWatch } from '../../apps/server/src/sales/redis-restart.ts';
import { saleRow, writeSaleHot } from '../support/hot-sale.ts';
import { cleanupNamespace, newNamespace, SHARED } from '../support/services.ts';

/**
 * docs/architecture.md#when-a-rebuild-starts, single Redis: after a restart (run_id changed, or
 * the stored one gone with the data) every sale not yet rebuilt under the new run is flagged —
 * and a sale a request already rebuilt under it is not flagged a second time.
 */
describe('RedisRestartWatch on one Redis', () => {
  const ns = newNamespace();
  let redis: Redis;
  let scripts: OrderScripts;
  const keysOf = (saleId: string) => saleKeys(ns, saleId);
  const runIdKey = `${ns}:redis-run-id`;
  const quiet = { warn() {}, info() {}, error() {} };

  beforeAll(() => {
    redis = new Redis(SHARED.redis);
    scripts = new OrderScripts(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupNamespace(ns);
  });

  const build = (id: string) => writeSaleHot(scripts, keysOf(id), saleRow({ id }));
  const watchOver = (ids: string[], emitted: string[]) =>
    new RedisRestartWatch({
      redis,
      runIdKey,
      catalog: { ids: () => ids, ended: () => false } as never,
      keysOf,
      log: quiet as never,
      events: { emit: async (_kind: string, message: string) => void emitted.push(message) } as never,
    });
  const flagged = async (ids: string[]) =>
    (await Promise.all(ids.map((id) => redis.exists(keysOf(id).rebuild)))).map(Boolean);

  it('flags the sales built under an earlier run or not at all, never one rebuilt under this run', async () => {
    const ids = ['rebuilt', 'older', 'gone'];
    // "rebuilt": written under this run (a request rebuilt it after the restart); "older": a
    // hot state from before the restart (its runId is another run's); "gone": none at all.
    await build('rebuilt');
    await build('older');
    await redis.hset(keysOf('older').hot, 'runId', 'an-earlier-run');
    const emitted: string[] = [];

    // The stored run_id is gone with the data (a restart without persistence).
    await redis.del(runIdKey);
    await watchOver(ids, emitted).check();
    expect(await flagged(ids)).toEqual([false, true, true]);
    expect(emitted).toEqual(['Redis restarted or lost data: rebuilding 2 sale(s)']);

    // Same run on the next tick: nothing new.
    await redis.del(...ids.map((id) => keysOf(id).rebuild));
    await watchOver(ids, emitted).check();
    expect(await flagged(ids)).toEqual([false, false, false]);

    // A restart with persistence: the stored run_id is the earlier run's.
    await redis.set(runIdKey, 'an-earlier-run');
    await watchOver(ids, emitted).check();
    expect(await flagged(ids)).toEqual([false, true, true]);
  });
});

import { OrderScripts, saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PLACES_PER_STEP, WaitingRoom } from '../../apps/server/src/queue/waiting-room.ts';
import { saleRow, writeSaleHot } from '../support/hot-sale.ts';
import { cleanupNamespace, newNamespace, SHARED } from '../support/services.ts';

/**
 * `WaitingRoom.places` on a real Redis: the live.queue fan-out hands it every due follower of a
 * sale at once, and it splits them into Redis steps of at most PLACES_PER_STEP, keeping each
 * place with the room read in its own step.
 */
describe('WaitingRoom.places', () => {
  const ns = newNamespace();
  let redis: Redis;
  let scripts: OrderScripts;
  const keysOf = (saleId: string) => saleKeys(ns, saleId);

  beforeAll(() => {
    redis = new Redis(SHARED.redis);
    scripts = new OrderScripts(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupNamespace(ns);
  });

  it('reads more than PLACES_PER_STEP users in steps of at most that many, each place where it was asked', async () => {
    const now = Date.now();
    const row = saleRow({
      id: 'many',
      perUserLimit: 1,
      startsAt: new Date(now + 3_600_000),
      endsAt: new Date(now + 7_200_000),
      queueAdmitPerSecond: 5,
      queueTokenTtlS: 300,
      queueOutstandingFactor: 2,
    });
    await writeSaleHot(scripts, keysOf('many'), row);
    // Every 7th of 2.5 steps' worth of users has joined, at a known place.
    const users = Array.from({ length: Math.floor(PLACES_PER_STEP * 2.5) }, (_, i) => `u${i}`);
    const joined = users.filter((_, i) => i % 7 === 0);
    for (const [i, u] of joined.entries()) await scripts.queueJoin(keysOf('many'), u, i / joined.length);

    const room = new WaitingRoom({
      scripts,
      keysOf,
      catalog: {} as never,
      tokens: {} as never,
      requestRebuild: () => {},
    });
    const steps = vi.spyOn(scripts, 'queueReadMany');
    const read = await room.places('many', users);
    expect(steps.mock.calls.map(([, part]) => part.length)).toEqual([
      PLACES_PER_STEP,
      PLACES_PER_STEP,
      PLACES_PER_STEP / 2,
    ]);
    expect(read).toHaveLength(users.length);
    users.forEach((u, i) => {
      const at = read[i];
      if (i % 7 !== 0) expect(at?.own, u).toBeNull();
      else expect(at?.own, u).toEqual({ rank: (i / 7) | 0, admittedAtMs: null });
      expect(at?.room.lineLength).toBe(joined.length);
    });
    expect(await room.places('many', [])).toEqual([]);
  });
});

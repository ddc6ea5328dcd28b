import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LatencyWindow, PlaceLatency } from '../../apps/server/src/live/place-latency.ts';
import { cleanupNamespace, eventually, newNamespace, SHARED } from '../support/services.ts';

/**
 * docs/architecture.md#live-data: each server flushes its `order.place` latency buckets to
 * Redis once a second; the HUD's p50/p99 are those of every server's answers together.
 */
describe('order.place latency on the HUD', () => {
  const ns = newNamespace();
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(SHARED.redis);
  });
  afterAll(async () => {
    await cleanupNamespace(ns).catch(() => undefined);
    redis.disconnect();
  });

  it('merges the histograms of two servers: the slow server’s tail is the p99', async () => {
    const a = new PlaceLatency(redis, ns);
    const b = new PlaceLatency(redis, ns);
    const window = new LatencyWindow(redis, ns);
    expect(await window.read()).toMatchObject({ count: 0, p50Ms: null, p99Ms: null });
    for (let i = 0; i < 95; i++) a.record(2);
    for (let i = 0; i < 5; i++) b.record(200);
    await Promise.all([a.stop(), b.stop()]); // flushes the current second too
    // The window ends two seconds back (a second is flushed about a second after it ends).
    const seen = await eventually(async () => {
      const w = await new LatencyWindow(redis, ns).read();
      return w.count === 100 ? w : undefined;
    });
    expect(seen.p50Ms).toBeCloseTo(2, 0);
    expect(seen.p99Ms).toBeGreaterThan(190);
    expect(seen.p99Ms).toBeLessThan(210);
  });
});

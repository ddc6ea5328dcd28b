import { describe, expect, it } from 'vitest';
import {
  buildSchedule,
  CLUSTER_KINDS,
  parseKinds,
  REQUIRED_IN_TEST,
  SINGLE_NODE_KINDS,
} from '../chaos/schedule.ts';
import { CHAOS_TEST_SEED } from '../chaos/seed.ts';

/** The nemesis's schedule (README.md#fault-runs): seeded, and the short run of `npm test` has what it must. */
const base = { count: 40, servers: 2, workers: 2, leaseMs: 3000, ackWaitMs: 3000 };

describe('chaos schedule', () => {
  it('the same seed gives the same schedule; another seed another one', () => {
    expect(buildSchedule({ ...base, seed: 7 })).toEqual(buildSchedule({ ...base, seed: 7 }));
    expect(buildSchedule({ ...base, seed: 7 })).not.toEqual(buildSchedule({ ...base, seed: 8 }));
  });

  it("npm test's fixed seed starts with kill -9 of a server and a worker, a Redis wipe and a SIGSTOP past the lease", () => {
    const s = buildSchedule({ ...base, seed: CHAOS_TEST_SEED, first: REQUIRED_IN_TEST });
    expect(new Set(s.slice(0, 4).map((f) => f.kind))).toEqual(
      new Set(['kill-server', 'kill-worker', 'redis-wipe', 'stop-server']),
    );
    const stop = s.find((f) => f.kind === 'stop-server');
    expect(stop?.holdMs).toBeGreaterThan(base.leaseMs);
  });

  it('draws every kind over a long schedule, targets in range, stops past their lease or ack wait', () => {
    const s = buildSchedule({ ...base, count: 400, seed: 1 });
    expect(new Set(s.map((f) => f.kind))).toEqual(new Set(SINGLE_NODE_KINDS));
    const c = buildSchedule({ ...base, count: 400, seed: 1, kinds: CLUSTER_KINDS });
    expect(new Set(c.map((f) => f.kind))).toEqual(new Set(CLUSTER_KINDS));
    expect(c.some((f) => f.kind === 'redis-wipe')).toBe(false);
    for (const f of s) {
      expect(f.target).toBeGreaterThanOrEqual(0);
      expect(f.target).toBeLessThan(2);
      if (f.kind === 'stop-worker') expect(f.holdMs).toBeGreaterThan(base.ackWaitMs);
    }
  });

  it('CHAOS_FAULTS narrows the kinds and names a wrong one', () => {
    const kinds = parseKinds('redis-wipe, nats-restart');
    const s = buildSchedule({ ...base, seed: 3, kinds });
    expect(new Set(s.map((f) => f.kind))).toEqual(new Set(kinds));
    expect(() => parseKinds('kill-everything')).toThrow(/unknown fault kill-everything/);
  });
});

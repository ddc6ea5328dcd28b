import { describe, expect, it } from 'vitest';
import { bucketOf, bucketValueMs, mergeBuckets, quantileMs } from './place-latency.ts';

/** Buckets as a server flushes them (`bucket → count`), from latencies in ms. */
function histogram(latencies: number[]): Record<string, string> {
  const out: Record<string, number> = {};
  for (const ms of latencies) out[bucketOf(ms)] = (out[bucketOf(ms)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v)]));
}

/** The exact q-quantile of a list (rank ⌈q·n⌉), to compare with. */
function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1] as number;
}

describe('order.place latency buckets', () => {
  it('a bucket holds its values within ~2.2 % of its middle, from 2 µs to a minute', () => {
    for (const ms of [0.002, 0.05, 0.4, 1, 3.7, 25, 101, 999, 60_000]) {
      const v = bucketValueMs(bucketOf(ms));
      expect(Math.abs(v - ms) / ms).toBeLessThan(0.023);
    }
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(2)).toBeGreaterThan(bucketOf(1));
  });

  it('no sample: no percentile', () => {
    expect(quantileMs(new Map(), 0.5)).toBeNull();
  });

  it('histograms of several servers and seconds merge by addition into the percentiles of all their answers', () => {
    // Server A fast, server B slow with a tail: the merged p50/p99 are those of the union.
    const a = Array.from({ length: 900 }, (_, i) => 1 + (i % 50) / 10);
    const b = Array.from({ length: 100 }, (_, i) => 20 + i * 3);
    const merged = new Map<number, number>();
    mergeBuckets(merged, histogram(a.slice(0, 450)));
    mergeBuckets(merged, histogram(a.slice(450)));
    mergeBuckets(merged, histogram(b));
    const all = [...a, ...b];
    for (const q of [0.5, 0.99]) {
      const got = quantileMs(merged, q) as number;
      expect(Math.abs(got - exact(all, q)) / exact(all, q)).toBeLessThan(0.023);
    }
    // A's own p99 is far below the merged one: B's tail is not lost in the merge.
    expect(quantileMs(merged, 0.99)).toBeGreaterThan(200);
  });

  it('ignores fields that are not bucket counts', () => {
    const m = new Map<number, number>();
    mergeBuckets(m, { '10': '3', x: '5', '11': '0', '12': 'junk' });
    expect([...m]).toEqual([[10, 3]]);
  });
});

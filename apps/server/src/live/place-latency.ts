import type { HudFrame } from '@surge/contracts';
import type { Redis } from 'ioredis';
import { AnswerCounts } from './answer-counts.ts';

/** Buckets per doubling: each bucket is 2^(1/16) ≈ 4.4 % wide, so a percentile is within ~2.2 %. */
const PER_DOUBLING = 16;
/** The HUD's window: the last ten seconds every server has flushed. */
export const LATENCY_WINDOW_S = 10;

/** The log bucket of a latency in milliseconds (sub-microsecond answers share bucket 0). */
export function bucketOf(ms: number): number {
  const us = ms * 1000;
  return us <= 1 ? 0 : Math.floor(Math.log2(us) * PER_DOUBLING);
}

/** The middle (geometric) of a bucket, in milliseconds. */
export function bucketValueMs(bucket: number): number {
  return 2 ** ((bucket + 0.5) / PER_DOUBLING) / 1000;
}

/** Adds bucket counts (`bucket → count`, as Redis returns a hash) into `into`. */
export function mergeBuckets(into: Map<number, number>, counts: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(counts)) {
    const b = Number(k);
    const n = Number(v);
    if (!Number.isInteger(b) || !(n > 0)) continue;
    into.set(b, (into.get(b) ?? 0) + n);
  }
}

/** The q-quantile (0 < q ≤ 1) of merged bucket counts: the value of the bucket holding rank ⌈q·n⌉; null with no sample. */
export function quantileMs(buckets: ReadonlyMap<number, number>, q: number): number | null {
  let total = 0;
  for (const n of buckets.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
    seen += buckets.get(b) ?? 0;
    if (seen >= rank) return bucketValueMs(b);
  }
  return null;
}

/**
 * `order.place` latency for the HUD, across every server. Each answer's time goes into an
 * in-process histogram of log buckets (no Redis command per request); once a second a server
 * adds the finished second's bucket counts to `<ns>:latency:<unix second>` (the answer counts'
 * flusher, kept 2 minutes), so the servers' histograms merge by addition.
 */
export class PlaceLatency {
  private readonly counts: AnswerCounts;

  constructor(redis: Redis, namespace: string) {
    this.counts = new AnswerCounts(redis, namespace, 'latency');
  }

  record(ms: number): void {
    this.counts.add(String(bucketOf(ms)));
  }

  start(): void {
    this.counts.start();
  }

  stop(): Promise<void> {
    return this.counts.stop();
  }
}

/**
 * p50/p99 over the last `LATENCY_WINDOW_S` finished seconds, summed over every server. Read again
 * only when the second changes, so the HUD's 250 ms ticks cost one read a second.
 */
export class LatencyWindow {
  private last: { second: number; value: HudFrame['latency'] } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
  ) {}

  async read(): Promise<HudFrame['latency']> {
    const newest = Math.floor(Date.now() / 1000) - 2; // flushed about a second after it ends
    if (this.last?.second === newest) return this.last.value;
    const hashes = await Promise.all(
      Array.from({ length: LATENCY_WINDOW_S }, (_, i) =>
        this.redis.hgetall(AnswerCounts.key(this.namespace, newest - i, 'latency')),
      ),
    );
    const buckets = new Map<number, number>();
    for (const h of hashes) mergeBuckets(buckets, h);
    let count = 0;
    for (const n of buckets.values()) count += n;
    const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
    const value = {
      windowS: LATENCY_WINDOW_S,
      count,
      p50Ms: round(quantileMs(buckets, 0.5)),
      p99Ms: round(quantileMs(buckets, 0.99)),
    };
    this.last = { second: newest, value };
    return value;
  }
}

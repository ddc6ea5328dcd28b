/**
 * The options of `npm run bench:spike` (bench/spike/run.ts) and `npm run bench:spike:profile`
 * (bench/spike/profile.ts): the BENCH_SPIKE_* environment variables, read and checked in one
 * place (docs/benchmarks.md#the-spike-npm-run-benchspike).
 */
import { text } from '../config.ts';

/** BENCH_SPIKE_ONLY: the parts of bench:spike to run. */
export const SPIKE_PARTS = ['cost', 'a', 'fanout', 'b'] as const;
export type SpikePart = (typeof SPIKE_PARTS)[number];

/** BENCH_SPIKE_PROFILE_KINDS: the answers bench:spike:profile profiles. */
export const PROFILE_KINDS = ['floor', 'accepted', 'NOT_ADMITTED', 'SOLD_OUT', 'join'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

/** A positive number (its default when unset). */
function positive(name: string, def: number): number {
  const raw = text(name);
  const v = Number(raw === '' ? def : raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

/** A whole number ≥ 1 (its default when unset). */
function count(name: string, def: number): number {
  const v = positive(name, def);
  if (!Number.isInteger(v)) throw new Error(`${name} must be a whole number ≥ 1`);
  return v;
}

/** A comma-separated list of `what`s out of `all`, in `all`'s order; unset: all of them. */
function subset<T extends string>(name: string, all: readonly T[], what: string): T[] {
  const picked = text(name)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of picked)
    if (!(all as readonly string[]).includes(p))
      throw new Error(`${name}: unknown ${what} ${p} (${what}s: ${all.join(', ')})`);
  return all.filter((p) => picked.length === 0 || picked.includes(p));
}

export function spikeOptions() {
  return {
    /** Guest sessions made beforehand. */
    crowd: positive('BENCH_SPIKE_CROWD', 20_000),
    stock: positive('BENCH_SPIKE_STOCK', 1000),
    connections: positive('BENCH_SPIKE_CONNECTIONS', 100),
    /** The queued sale's admitPerSecond (run B). */
    rate: positive('BENCH_SPIKE_RATE', 500),
    /** Seconds of each kind in the cost phase. */
    costS: positive('BENCH_SPIKE_COST_S', 3),
    /** Rounds of every kind in the cost phase (each kind compared with its round's accepted order). */
    costRounds: count('BENCH_SPIKE_COST_ROUNDS', 3),
    maxRunS: positive('BENCH_SPIKE_MAX_RUN_S', 90),
    followers: positive('BENCH_SPIKE_FOLLOWERS', 5000),
    followerProcesses: positive('BENCH_SPIKE_FOLLOWER_PROCESSES', 2),
    parts: subset('BENCH_SPIKE_ONLY', SPIKE_PARTS, 'part'),
    profileKinds: subset('BENCH_SPIKE_PROFILE_KINDS', PROFILE_KINDS, 'kind'),
  };
}

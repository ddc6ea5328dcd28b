/**
 * The nemesis's schedule (README.md#fault-runs): a seeded list of faults, one at a time, each healed before
 * the next. Pure: the same seed gives the same schedule (tests/unit/chaos-schedule.test.ts).
 */

export const FAULT_KINDS = [
  'kill-server', // kill -9 a server, restart it
  'kill-worker', // kill -9 a worker, restart it
  'redis-wipe', // kill -9 Redis and restart it without persistence: all hot state lost
  'redis-outage', // SIGSTOP Redis (a worker holds its batch meanwhile), SIGCONT
  'postgres-restart', // kill -9 the postmaster, start it again
  'nats-restart', // kill -9 NATS (JetStream on disk), start it again
  'stop-server', // SIGSTOP a server past its lease: another server's sweeper settles its reservations
  'stop-worker', // SIGSTOP a worker mid-batch past the ack wait, SIGCONT
  'kill-during-rebuild', // admin.flushCache on a server, kill -9 it while it rebuilds
  'kill-during-restock', // admin.restock on a server, kill -9 it during the call
  'redis-rollback', // SAVE a snapshot, sell on, kill -9 Redis and restart it from the snapshot: an older state
  // --cluster only:
  'redis-node-kill', // kill -9 the Redis Cluster primary of a sale's slot; its replica is promoted; restart it (a replica now)
  'nats-restart-twice', // kill -9 and restart one NATS node, then another one right after
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The faults of the single-node stack (the default schedule: the same seed, the same faults). */
export const SINGLE_NODE_KINDS: readonly FaultKind[] = FAULT_KINDS.slice(0, 11);
/** The faults of `--cluster`: one Redis node stands for no Redis, so no wipe, outage or rollback of it. */
export const CLUSTER_KINDS: readonly FaultKind[] = FAULT_KINDS.filter(
  (k) => k !== 'redis-wipe' && k !== 'redis-outage' && k !== 'redis-rollback',
);

/** What the short run of `npm test` must include (README.md#fault-runs). */
export const REQUIRED_IN_TEST: readonly FaultKind[] = [
  'kill-server',
  'kill-worker',
  'redis-wipe',
  'stop-server',
];

export interface Fault {
  kind: FaultKind;
  /** Which server or worker (index), when the fault has one. */
  target: number;
  /** ms the fault lasts before it is healed (kills: until the restart; stops: the stop). */
  holdMs: number;
  /** ms of quiet load after the heal, before the next fault. */
  gapMs: number;
  /** Delay before the kill of a rebuild/restock (ms after the admin call left). */
  delayMs: number;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  seed: number;
  count: number;
  servers: number;
  workers: number;
  leaseMs: number;
  ackWaitMs: number;
  /** Kinds that come first, in a seeded order. */
  first?: readonly FaultKind[];
  /** The kinds drawn after those (default: the single-node stack's). */
  kinds?: readonly FaultKind[];
}

export function parseKinds(list: string | undefined): FaultKind[] {
  const kinds = (list ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const k of kinds)
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new Error(`unknown fault ${k}; the faults are ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}

export function buildSchedule(o: ScheduleOptions): Fault[] {
  const r = rng(o.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const first = [...(o.first ?? [])];
  for (let i = first.length - 1; i > 0; i--) {
    const j = int(0, i);
    [first[i], first[j]] = [first[j] as FaultKind, first[i] as FaultKind];
  }
  const faults: Fault[] = [];
  for (let i = 0; i < o.count; i++) {
    const kinds = o.kinds?.length ? o.kinds : SINGLE_NODE_KINDS;
    const kind = first[i] ?? (kinds[int(0, kinds.length - 1)] as FaultKind);
    const onWorker = kind === 'kill-worker' || kind === 'stop-worker';
    const holdMs =
      kind === 'stop-server'
        ? o.leaseMs + int(1500, 3000)
        : kind === 'stop-worker'
          ? o.ackWaitMs + int(1000, 2500)
          : kind === 'redis-outage'
            ? int(2000, 4000)
            : kind === 'redis-rollback'
              ? int(1000, 3000) // the orders sold after the snapshot, which the restart forgets
              : int(300, 1500);
    faults.push({
      kind,
      target: int(0, (onWorker ? o.workers : o.servers) - 1),
      holdMs,
      gapMs: int(2000, 4000),
      delayMs: int(0, 150),
    });
  }
  return faults;
}

/**
 * What `npm run bench` runs: durations, connections, users and sizes (each overridable by an
 * environment variable), and the environment of the processes it starts.
 */
import { randomBytes } from 'node:crypto';
import { baseEnv } from '../tests/support/env.ts';
import { ROOT } from '../tests/support/paths.ts';
import type { TestDatabase } from '../tests/support/services.ts';

export const num = (name: string, def: number, max = Number.POSITIVE_INFINITY): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? def : Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > max)
    throw new Error(`${name} must be a number in [0, ${max}], got ${raw}`);
  return v;
};

/** A text setting of the benches ('' when unset). */
export const text = (name: string): string => process.env[name] ?? '';

/** `BENCH_ONLY`: '' runs every phase; 'latency' only the maximum and 80 % of it (bench/rate-latency.ts). */
const ONLY = ['', 'latency'] as const;
function only(): (typeof ONLY)[number] {
  const v = text('BENCH_ONLY');
  const found = ONLY.find((o) => o === v);
  if (found === undefined)
    throw new Error(`BENCH_ONLY must be one of ${ONLY.filter(Boolean).join(', ')} or unset, got ${v}`);
  return found;
}

/**
 * `BENCH_EXTRA_LOADS` (e.g. `0.4,0.6`): more open-loop phases after the 80 % one, each at that
 * fraction of the maximum, for the latency curve (where p99 crosses a bound); none by default.
 */
export function parseExtraLoads(value: string): number[] {
  const raw = value.trim();
  if (raw === '') return [];
  return raw.split(',').map((part) => {
    const v = Number(part);
    if (part.trim() === '' || !Number.isFinite(v) || v < 0.05 || v > 1.5)
      throw new Error(`BENCH_EXTRA_LOADS must be fractions in [0.05, 1.5] separated by commas, got ${raw}`);
    return v;
  });
}

export const CFG = {
  only: only(),
  extraLoads: parseExtraLoads(text('BENCH_EXTRA_LOADS')),
  durationS: num('BENCH_DURATION_S', 10),
  warmupS: num('BENCH_WARMUP_S', 2),
  /**
   * Warm-up of the tRPC runs with workers alongside (1 worker, then 2): load for this long, then
   * 1 s more at a time (at most `PIPELINE_WARMUP_EXTRA_S` more) until every worker has drained
   * `pipelineWarmBatches` batches (its /metrics), so that the measured window sees warm processes.
   */
  pipelineWarmupS: num('BENCH_PIPELINE_WARMUP_S', 5),
  pipelineWarmBatches: num('BENCH_PIPELINE_WARM_BATCHES', 20),
  /** Measured load of the tRPC run with two workers alongside: as long as the 1-worker one by default. */
  scaleDurationS: num('BENCH_SCALE_DURATION_S', num('BENCH_DURATION_S', 10)),
  /** Load with no worker running, for the backlog the workers then drain. 0: no backlog step. */
  backlogS: num('BENCH_BACKLOG_S', 6),
  connections: num('BENCH_CONNECTIONS', 100),
  // perUserLimit × users must stay well above the orders a run accepts, or USER_LIMIT takes over.
  users: num('BENCH_USERS', 2000),
  paymentFailureRate: num('BENCH_PAYMENT_FAILURE_RATE', 0.1, 1),
  workerBatchSize: num('BENCH_WORKER_BATCH_SIZE', 100),
  /** Batches in flight per worker (WORKER_CONCURRENCY); 0: the worker's default. */
  workerConcurrency: num('BENCH_WORKER_CONCURRENCY', 0),
  drainTimeoutS: num('BENCH_DRAIN_TIMEOUT_S', 300),
  rawRows: num('BENCH_RAW_ROWS', 50_000),
  rawBatch: 100,
  stock: 10_000_000,
  perUserLimit: 100,
  saleId: 'bench-sale',
};

/** At most this much load is added to `CFG.pipelineWarmupS` while a worker lacks batches, s. */
export const PIPELINE_WARMUP_EXTRA_S = 5;

export const ADMIN_PASSWORD = `bench-admin-${randomBytes(16).toString('hex')}`;
/** The tests' process environment (tests/support/env.ts), for production and heavy load. */
function commonEnv(db: TestDatabase, ns: string): Record<string, string> {
  return baseEnv(db, ns, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    // Server and worker both declare the stream: room for every accepted order while no worker
    // drains it (the baseline run, the backlog step).
    STREAM_MAX_BYTES: '2GiB',
  });
}

/** A server's (its port is picked when it starts). */
export function serverEnv(db: TestDatabase, ns: string): Record<string, string> {
  return {
    ...commonEnv(db, ns),
    ADMIN_PASSWORD,
    // The tests' default secret is refused in production.
    SESSION_SECRET: `bench-${randomBytes(24).toString('hex')}`,
    METRICS_TOKEN: randomBytes(24).toString('hex'),
  };
}

/** A worker's (its health and metrics port is picked when it starts). */
export function workerEnv(db: TestDatabase, ns: string, id: string): Record<string, string> {
  return {
    ...commonEnv(db, ns),
    WORKER_ID: id,
    PAYMENT_FAILURE_RATE: String(CFG.paymentFailureRate),
    PAYMENT_LATENCY_MS: '0',
    WORKER_BATCH_SIZE: String(CFG.workerBatchSize),
    ...(CFG.workerConcurrency > 0 ? { WORKER_CONCURRENCY: String(CFG.workerConcurrency) } : {}),
    // The worker logs nothing per order at info: its start and stop, shown if it dies.
    LOG_LEVEL: 'info',
    // Fault injection off, whatever the caller's environment says.
    SURGE_FAULT_WORKER_CRASH: '',
    SURGE_FAULT_NO_WORKING: '',
  };
}

/** The bare node:http baseline (bench/baseline-server.ts), bundled like the server. */
export const BASELINE_TS = `${ROOT}/bench/baseline-server.ts`;
export const BASELINE_JS = `${ROOT}/bench/dist/baseline-server.js`;

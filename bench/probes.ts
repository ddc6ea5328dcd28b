/**
 * What the bench measures besides the load generator: a process's CPU time and peak memory
 * (/proc), the workers' batch histograms (/metrics), the stream's depth, and the rows a step
 * persisted with their timestamps (PostgreSQL).
 */
import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import type pg from 'pg';
import { SHARED } from '../tests/support/services.ts';

/** Rows of one part of a run and their timestamps, from the orders table. */
export interface Persisted {
  rows: number;
  byStatus: Record<string, number>;
  /** Rows / `windowS`. */
  perS: number;
  /** Alongside: first accept (min created_at) → last row final (max updated_at). Backlog: workers ready → last row final. */
  windowS: number;
  /** Last accept (max created_at) → last row final (max updated_at), s. */
  lastAcceptToFinalS: number;
}

/** From the workers' /metrics, summed over the workers of a step. */
export interface BatchStats {
  batches: number;
  meanSize: number;
  meanMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ). */
const CLK_TCK = 100;

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  return processCpuTicks(pid) / CLK_TCK;
}

/** utime + stime of a process, in clock ticks. */
function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** The machine's CPU time since boot, all cores (first line of /proc/stat), in clock ticks. */
export function machineCpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal (guest time is already in user).
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - (t[3] ?? 0) - (t[4] ?? 0), total };
}

/** Peak resident set size of a process (VmHWM), in bytes. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

/** One worker's running totals, from its /metrics. */
export interface WorkerCounters {
  /** Batches processed (`surge_worker_batch_size_count`). */
  batches: number;
  /** Messages in those batches (`surge_worker_batch_size_sum`). */
  messages: number;
  /** Time spent in them (`surge_worker_batch_seconds_sum`), s. */
  batchSeconds: number;
  /** Order rows inserted (`surge_orders_persisted_total`). */
  persisted: number;
}

/** A worker's counters now (NaN where its /metrics lacks one). */
export async function workerCounters(worker: { url: string }): Promise<WorkerCounters> {
  const text = await fetch(`${worker.url}/metrics`).then((r) => r.text());
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    batches: read('surge_worker_batch_size_count'),
    messages: read('surge_worker_batch_size_sum'),
    batchSeconds: read('surge_worker_batch_seconds_sum'),
    persisted: read('surge_orders_persisted_total'),
  };
}

/** Counters summed over workers, or `after − before` of one worker. */
export function sumCounters(cs: WorkerCounters[]): WorkerCounters {
  const zero: WorkerCounters = { batches: 0, messages: 0, batchSeconds: 0, persisted: 0 };
  return cs.reduce(
    (s, c) => ({
      batches: s.batches + c.batches,
      messages: s.messages + c.messages,
      batchSeconds: s.batchSeconds + c.batchSeconds,
      persisted: s.persisted + c.persisted,
    }),
    zero,
  );
}
export function counterDelta(after: WorkerCounters, before: WorkerCounters): WorkerCounters {
  return {
    batches: after.batches - before.batches,
    messages: after.messages - before.messages,
    batchSeconds: after.batchSeconds - before.batchSeconds,
    persisted: after.persisted - before.persisted,
  };
}

/** Batches, mean batch size and mean batch time, from (summed) counters. */
export function batchStatsOf(c: WorkerCounters): BatchStats {
  return {
    batches: c.batches,
    meanSize: c.messages / c.batches,
    meanMs: (c.batchSeconds / c.batches) * 1000,
  };
}

/** Batches, mean batch size and mean batch time of the workers (their Prometheus histograms). */
export async function batchStats(workers: { url: string }[]): Promise<BatchStats | null> {
  try {
    return batchStatsOf(sumCounters(await Promise.all(workers.map(workerCounters))));
  } catch {
    return null;
  }
}

/** Messages in the namespace's orders stream (not yet acked by a worker). */
export async function streamCount(ns: string): Promise<number | null> {
  try {
    const nc = await connect({ servers: SHARED.nats, maxReconnectAttempts: 0, timeout: 2000 });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(natsNames(ns).stream);
      return info.state.messages;
    } finally {
      await nc.close();
    }
  } catch {
    return null;
  }
}

/**
 * Rows of the sale reserved in `[from, before)` (ms since the epoch, compared with created_at)
 * and their timestamps: created_at is the reservation time (the accept, stamped by the server),
 * updated_at the time the row became final (the payment decision, PostgreSQL `now()`). The
 * window starts at the first accept, or at `readyAt` (the workers ready) when given.
 */
export async function persisted(
  client: pg.Client,
  saleId: string,
  range: { from?: number; before?: number; readyAt?: number },
): Promise<Persisted> {
  const { rows } = await client.query<{
    status: string;
    n: number;
    first: number;
    last: number;
    final: number;
  }>(
    `SELECT status::text AS status, count(*)::int AS n,
            extract(epoch FROM min(created_at))::float8 * 1000 AS first,
            extract(epoch FROM max(created_at))::float8 * 1000 AS last,
            extract(epoch FROM max(updated_at))::float8 * 1000 AS final
     FROM orders
     WHERE sale_id = $1 AND created_at >= to_timestamp($2::float8 / 1000) AND created_at < to_timestamp($3::float8 / 1000)
     GROUP BY status`,
    [saleId, range.from ?? 0, range.before ?? 32_503_680_000_000],
  );
  const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
  const total = rows.reduce((s, r) => s + r.n, 0);
  const first = range.readyAt ?? Math.min(...rows.map((r) => r.first));
  const last = Math.max(...rows.map((r) => r.last));
  const final = Math.max(...rows.map((r) => r.final));
  const windowS = (final - first) / 1000;
  return { rows: total, byStatus, perS: total / windowS, windowS, lastAcceptToFinalS: (final - last) / 1000 };
}

/** Row updates of a table since its counters started, and how many of them were HOT. */
export interface HotUpdates {
  updates: number;
  hot: number;
}

/**
 * pg_stat_user_tables' n_tup_upd and n_tup_hot_upd of `table`, once every writer has gone: a
 * backend flushes its counters when it exits, so they are read until two reads 300 ms apart agree.
 */
export async function hotUpdates(client: pg.Client, table: string): Promise<HotUpdates> {
  let last: HotUpdates | null = null;
  for (let i = 0; i < 10; i++) {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ upd: string; hot: string }>(
      'SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = $1',
      [table],
    );
    const now = { updates: Number(rows[0]?.upd ?? 0), hot: Number(rows[0]?.hot ?? 0) };
    if (last && last.updates === now.updates && last.hot === now.hot) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
  return last ?? { updates: 0, hot: 0 };
}

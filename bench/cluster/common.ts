/**
 * Shared by the parts of `npm run bench:cluster`: the machine line, the knobs (environment
 * variables), the clean-ups to run when the bench is interrupted, and number formatting.
 */
import os from 'node:os';
import { benchCleanup } from '../cleanup.ts';

const num = (name: string, def: number): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? def : Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
};

export const CLUSTER_CFG = {
  /** Measured seconds of each intake configuration (after the bench's usual warm-up). */
  intakeS: num('BENCH_CLUSTER_DURATION_S', 8),
  /** Publishes per measurement, awaited one at a time (latency) and with a window in flight. */
  sequential: num('BENCH_CLUSTER_SEQUENTIAL', 1000),
  concurrent: num('BENCH_CLUSTER_CONCURRENT', 10_000),
  window: num('BENCH_CLUSTER_WINDOW', 64),
};

export function machineLine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`;
}

/**
 * Runs `body` with `cleanup` registered for an interruption (bench/cleanup.ts: private
 * processes, databases, namespaces), then cleans up (also when `body` throws).
 */
export async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  let cleaning: Promise<void> | undefined;
  const once = () => (cleaning ??= cleanup());
  const forget = benchCleanup.add(once);
  try {
    return await body();
  } finally {
    await once().catch((err: unknown) => console.error(`clean-up failed: ${String(err)}`));
    forget();
  }
}

export const fmt = (v: number, digits = 0): string =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';

export const ratio = (x: number, base: number): string =>
  Number.isFinite(x / base) ? `${(x / base).toFixed(2)}×` : '-';

/** Aligned columns: the first left-aligned, the others right-aligned. */
export function columns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/**
 * Calls `fn(i)` for i in [0, n) with at most `window` in flight; resolves with the wall time
 * in ms. `window` 1: one at a time (the latency of one call).
 */
export async function windowed(
  n: number,
  window: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
  return performance.now() - started;
}

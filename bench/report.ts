/**
 * What `npm run bench` prints: the set-up lines, the intake table (baseline and tRPC), the
 * ratio line, and the pipeline table (1 and 2 workers, alongside the load and from a backlog,
 * raw insert, invariants).
 */
import os from 'node:os';
import { CFG, PIPELINE_WARMUP_EXTRA_S } from './config.ts';
import type { IntakeResult } from './isolated-run.ts';
import type { BacklogStep, PipelineResult } from './pipeline.ts';
import type { BatchStats } from './probes.ts';

/** The lines before any figure: when, where, and what runs. */
export function headerLines(started: number): string[] {
  return [
    `Surge order-intake benchmark, ${new Date(started).toISOString()}`,
    `machine: ${machineLine()}`,
    `load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}${CFG.only ? `; BENCH_ONLY=${CFG.only}` : ''}`,
    `load: autocannon ${CFG.connections} connections (keep-alive, closed loop; the 80 % phase: an undici ` +
      `pool of as many connections, paced, open loop), ${CFG.durationS} s measured after ` +
      `${CFG.warmupS} s warm-up, ${CFG.users} users, 1 sale (stock ${CFG.stock.toLocaleString('en-US')}, ` +
      `perUserLimit ${CFG.perUserLimit}), quantity 1, unique idempotency key per request`,
    `tRPC with 1 and with 2 workers alongside: each ${CFG.pipelineWarmupS} s of warm-up load (1 s more at a time, ` +
      `up to ${PIPELINE_WARMUP_EXTRA_S} s more, until every worker has drained ${CFG.pipelineWarmBatches} batches), then ` +
      `${CFG.durationS} s (1 worker) and ${CFG.scaleDurationS} s (2 workers) measured`,
    'servers: built JS, NODE_ENV=production, rate limits off, LOG_LEVEL=warn; the baseline alone, ' +
      'tRPC with its worker process(es) alongside, and alone while it builds a backlog',
    `workers: built JS, NODE_ENV=production, WORKER_BATCH_SIZE=${CFG.workerBatchSize}, ` +
      `PAYMENT_FAILURE_RATE=${CFG.paymentFailureRate}, PAYMENT_LATENCY_MS=0\n`,
  ];
}

export function machineLine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`;
}

/** The intake table and the ratio line under it. */
export function intakeReport(
  baseline: IntakeResult,
  noWorker: IntakeResult | null,
  alongside: IntakeResult,
): string {
  const rate = (c: IntakeResult | null) => (c ? c.accepted / c.durationS : Number.NaN);
  const ratio = (x: number, y: number) => (Number.isFinite(x / y) ? (x / y).toFixed(2) : '-');
  return (
    `${table([baseline, noWorker, alongside])}\n` +
    `\nratio tRPC/baseline (accepted orders/s): ${ratio(rate(noWorker), rate(baseline))} with no worker ` +
    `running on either side, ${ratio(rate(alongside), rate(baseline))} with the tRPC server's worker alongside`
  );
}

const fmt = (v: number, digits = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';

/** Aligned columns; a row of one cell is a heading, printed as is. */
function layout(rows: string[][]): string[] {
  const cells = rows.filter((r) => r.length > 1);
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r.length === 1
      ? (r[0] ?? '')
      : r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
  );
}

function table(cols: (IntakeResult | null)[]): string {
  const shown = cols.filter((c): c is IntakeResult => c !== null);
  const row = (name: string, f: (c: IntakeResult) => string) => [name, ...shown.map(f)];
  const total = (r: Map<string, number>) => [...r.values()].reduce((s, x) => s + x, 0);
  const reasons = [...new Set(shown.flatMap((c) => [...c.rejections.keys()]))].sort();
  const rows: string[][] = [
    row('', (c) => c.label),
    row('accepted orders/s', (c) => fmt(c.accepted / c.durationS)),
    row('answered requests/s', (c) => fmt(c.responses / c.durationS)),
    row('latency p50 (ms)', (c) => fmt(c.p50, 2)),
    row('latency p95 (ms)', (c) => fmt(c.p95, 2)),
    row('latency p99 (ms)', (c) => fmt(c.p99, 2)),
    row('rejections', (c) => fmt(total(c.rejections))),
    ...reasons.map((reason) => row(`  ${reason}`, (c) => fmt(c.rejections.get(reason) ?? 0))),
    row('peak RSS (MiB)', (c) => fmt(c.peakRssBytes / 2 ** 20, 1)),
    row('server CPU per request (µs)', (c) => fmt(c.serverCpuUsPerReq)),
    row('load generator CPU (%)', (c) => fmt(c.generatorCpuPct)),
    row('measured (s)', (c) => fmt(c.durationS, 1)),
    row('accepted (measured run)', (c) => fmt(c.accepted)),
    row('messages in stream at load end', (c) => fmt(c.streamMessages ?? Number.NaN)),
  ];
  return layout(rows).join('\n');
}

export function pipelineTable(a: PipelineResult, b: PipelineResult): string {
  const head = (n: number) => `${n} worker${n > 1 ? 's' : ''}`;
  const status = (p: PipelineResult) =>
    ['CONFIRMED', 'FAILED_PAYMENT', 'FAILED', 'PENDING'].map((s) => fmt(p.byStatus[s] ?? 0)).join(' / ');
  const rss = (r: number[]) => (r.length > 0 ? r.map((x) => fmt(x / 2 ** 20, 1)).join(' + ') : '-');
  const batch = (x: BatchStats | null) =>
    x ? `${fmt(x.batches)}, ${fmt(x.meanSize, 1)}, ${fmt(x.meanMs, 1)}` : '-';
  const hot = (p: PipelineResult) =>
    `${fmt(p.orderUpdates.hot)} / ${fmt(p.orderUpdates.updates)} (${fmt((100 * p.orderUpdates.hot) / Math.max(1, p.orderUpdates.updates), 1)} %)`;
  const verdict = (p: PipelineResult) => (p.failures.length === 0 ? 'pass' : 'FAIL');
  const rate = (c: IntakeResult) => fmt(c.accepted / c.durationS);
  const drained = (p: PipelineResult) => p.warmUp.batches.map((n) => fmt(n)).join(' + ') || '-';
  // The backlog steps of the 1-worker run, by worker count: the fastest (others' load only slows).
  const best = (n: number) =>
    a.backlogs
      .filter((s) => s.workers === n)
      .reduce<BacklogStep | undefined>(
        (m, s) => (m && m.persisted.perS >= s.persisted.perS ? m : s),
        undefined,
      );
  const every = (n: number) =>
    a.backlogs
      .filter((s) => s.workers === n)
      .map((s) => fmt(s.persisted.perS))
      .join(' / ') || '-';
  const b1 = best(1);
  const b2 = best(2);
  const bl = (f: (s: BacklogStep) => string) => [b1 ? f(b1) : '-', b2 ? f(b2) : '-'];
  const rows: string[][] = [
    ['', head(a.workers), head(b.workers)],
    ['workers alongside the load (a run each: a fresh server and fresh workers)'],
    ['  warm-up load before the window (s)', fmt(a.warmUp.loadS, 0), fmt(b.warmUp.loadS, 0)],
    ['  batches each worker drained in the warm-up', drained(a), drained(b)],
    [
      '  worker CPU per order in the warm-up, from ready (µs)',
      fmt(a.warmUp.workerCpuUsPerRow),
      fmt(b.warmUp.workerCpuUsPerRow),
    ],
    ['  measured window (s)', fmt(a.window.seconds, 1), fmt(b.window.seconds, 1)],
    ['  accepted orders/s (measured)', rate(a.intake), rate(b.intake)],
    ['  latency p99 (ms)', fmt(a.intake.p99, 2), fmt(b.intake.p99, 2)],
    ['  persisted orders/s (measured window)', fmt(a.window.perS), fmt(b.window.perS)],
    [
      '  worker batches in the window: count, mean size, mean time (ms)',
      batch(a.window.batches),
      batch(b.window.batches),
    ],
    [
      '  worker CPU per persisted order in the window (µs)',
      fmt(a.window.workerCpuUsPerRow),
      fmt(b.window.workerCpuUsPerRow),
    ],
    ['  accepted orders (warm-up + measured)', fmt(a.acceptedAlongside), fmt(b.acceptedAlongside)],
    [
      '  messages in stream at load end',
      fmt(a.intake.streamMessages ?? Number.NaN),
      fmt(b.intake.streamMessages ?? Number.NaN),
    ],
    [
      '  rows persisted (warm-up + measured)',
      fmt(a.alongside.persisted.rows),
      fmt(b.alongside.persisted.rows),
    ],
    [
      '  first accept → last row final (s)',
      fmt(a.alongside.persisted.windowS, 2),
      fmt(b.alongside.persisted.windowS, 2),
    ],
    [
      '  persisted orders/s (first accept → last row final)',
      fmt(a.alongside.persisted.perS),
      fmt(b.alongside.persisted.perS),
    ],
    [
      '  last accept → last row final (s)',
      fmt(a.alongside.persisted.lastAcceptToFinalS, 2),
      fmt(b.alongside.persisted.lastAcceptToFinalS, 2),
    ],
    ['  load end → drained (s)', fmt(a.loadEndToDrainedS, 2), fmt(b.loadEndToDrainedS, 2)],
    [
      '  worker CPU per persisted order, ready → drained (µs)',
      fmt(a.alongside.workerCpuUsPerRow),
      fmt(b.alongside.workerCpuUsPerRow),
    ],
    ['  worker peak RSS (MiB)', rss(a.alongside.workerPeakRssBytes), rss(b.alongside.workerPeakRssBytes)],
    [
      `from a backlog (${CFG.backlogS} s of load with no worker, then fresh workers; steps of ` +
        `${a.backlogs.map((s) => s.workers).join(', ')} workers in the 1-worker run; the best step of each count)`,
    ],
    ['  persisted orders/s, every step', ...[1, 2].map((n) => every(n))],
    ['  accepted orders/s (no worker running)', ...bl((s) => rate(s.noWorker))],
    ['  orders in the stream at workers start', ...bl((s) => fmt(s.inStream ?? Number.NaN))],
    ['  rows persisted', ...bl((s) => fmt(s.persisted.rows))],
    ['  workers ready → last row final (s)', ...bl((s) => fmt(s.persisted.windowS, 2))],
    ['  persisted orders/s', ...bl((s) => fmt(s.persisted.perS))],
    ['  worker batches: count, mean size, mean time (ms)', ...bl((s) => batch(s.batches))],
    ['  worker CPU per persisted order (µs)', ...bl((s) => fmt(s.workerCpuUsPerRow))],
    ['  worker peak RSS (MiB)', ...bl((s) => rss(s.workerPeakRssBytes))],
    ['whole run (the 1-worker run with its backlog steps)'],
    ['  CONFIRMED / FAILED_PAYMENT / FAILED / PENDING', status(a), status(b)],
    ['  dead letters', fmt(a.deadLetters), fmt(b.deadLetters)],
    ['  payment UPDATEs that were HOT (orders rows)', hot(a), hot(b)],
    ['  invariants I1 I2 I3 I5', verdict(a), verdict(b)],
  ];
  const lines = layout(rows);
  for (const p of [a, b]) for (const f of p.failures) lines.push(`  ${head(p.workers)} run: ${f}`);
  const ratio = (x: number | undefined, y: number | undefined) =>
    x !== undefined && y !== undefined && Number.isFinite(x / y) ? (x / y).toFixed(2) : '-';
  lines.push(
    '',
    `persisted orders/s, 2 workers ÷ 1 worker: alongside the load ${ratio(b.window.perS, a.window.perS)} ` +
      `(measured windows of ${fmt(b.window.seconds, 1)} s ÷ ${fmt(a.window.seconds, 1)} s, after warm-ups of ` +
      `${fmt(b.warmUp.loadS)} s ÷ ${fmt(a.warmUp.loadS)} s; first accept → last row final, warm-up and drain included: ` +
      `${ratio(b.alongside.persisted.perS, a.alongside.persisted.perS)}), from a backlog ${ratio(b2?.persisted.perS, b1?.persisted.perS)}`,
  );
  if (a.raw) {
    lines.push(
      `raw PostgreSQL insert: ${fmt(a.raw.rows)} rows in batches of ${CFG.rawBatch} (INSERT … SELECT FROM unnest, ` +
        `1 connection, autocommit) in ${fmt(a.raw.seconds, 2)} s: ${fmt(a.raw.perS)} rows/s`,
      `persisted orders/s (1 worker) ÷ raw insert rows/s: alongside the load ${ratio(a.alongside.persisted.perS, a.raw.perS)}, ` +
        `from a backlog ${ratio(b1?.persisted.perS, a.raw.perS)}`,
    );
  }
  return lines.join('\n');
}

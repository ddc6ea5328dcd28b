/**
 * `npm run bench`: order intake over HTTP, tRPC (`order.place` on the built server) against a
 * bare node:http baseline that calls the same `services.domain.intake.place` (bench/baseline-server.ts),
 * then the persistence pipeline behind the tRPC server (built worker → PostgreSQL).
 *
 * Every process runs built JavaScript with NODE_ENV=production, each run with its own database
 * and namespace and a fresh sale of huge stock; autocannon (keep-alive) drives it for a fixed
 * time, one run after the other. Prints accepted orders/s, latency percentiles, rejections by
 * reason, peak RSS and the ratio tRPC / baseline; on the tRPC side (one worker alongside the
 * server) it then waits for the drain and prints persisted orders/s, the time from the last
 * accept to the last row final, the worker's peak RSS, dead letters and the end-to-end
 * invariant check (I1 I2 I3 I5), measures the rate of raw multi-row inserts into the same
 * database, and compares one worker with two (alongside the load and from a backlog); then the
 * latency at the maximum (closed loop) and at 80 % of it (an open loop paced at that rate,
 * bench/open-loop.ts). `BENCH_ONLY=latency` runs that last phase alone. See docs/benchmarks.md.
 */
/*
 * Layout: config.ts (what runs, each process's environment), isolated-run.ts (a run's database,
 * namespace, server and workers), load.ts (autocannon's closed loop and what the client saw),
 * open-loop.ts and pacing.ts (the load held to a rate), probes.ts (CPU,
 * memory, worker metrics, stream depth, persisted rows), pipeline.ts (the worker runs),
 * raw-insert.ts (PostgreSQL's own ceiling), rate-latency.ts (p50/p95/p99 at the maximum and at
 * 80 % of it), live-latency.ts, report.ts (the tables). The
 * processes start through scripts/spawn-app.mjs; the invariants are tests/support/checker's.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { APPS } from '../scripts/spawn-app.mjs';
import { ROOT } from '../tests/support/paths.ts';
import { ADMIN_PASSWORD, BASELINE_JS, BASELINE_TS, CFG, text } from './config.ts';
import { defenceCostLines } from './defended-intake.ts';
import { type IntakeResult, printWarnings, runBenchMain, startRun } from './isolated-run.ts';
import { type LiveLatency, latencyLines, measureLiveLatency } from './live-latency.ts';
import { runPipeline } from './pipeline.ts';
import { powCostLines } from './pow-cost.ts';
import { type RateLatency, rateLatencyLines, runRateLatency } from './rate-latency.ts';
import { headerLines, intakeReport, pipelineTable } from './report.ts';
import { benchTimelineSvg } from './timeline-chart.ts';

async function main(): Promise<void> {
  for (const js of [APPS.server.script, APPS.worker.script].map((s) => `${ROOT}/${s}`))
    if (!existsSync(js)) throw new Error(`${js} is missing: run \`npx turbo run build\` first`);
  execFileSync(process.execPath, [`${ROOT}/scripts/bundle.mjs`, BASELINE_TS, BASELINE_JS], {
    cwd: ROOT,
    stdio: 'inherit',
  });

  const started = Date.now();
  for (const line of headerLines(started)) console.log(line);

  if (CFG.only === 'latency') return latencyOnly(started);
  const baseline = await runBaseline();
  // Interleaved, twice: the machine's other load varies from second to second.
  const backlogs = CFG.backlogS > 0 ? [1, 2, 1, 2] : [];
  const one = await runPipeline({ workers: 1, durationS: CFG.durationS, backlogs, raw: true });
  const two = await runPipeline({ workers: 2, durationS: CFG.scaleDurationS, backlogs: [], raw: false });
  const rates = await runRateLatency();
  console.log('');
  console.log(intakeReport(baseline, one.backlogs[0]?.noWorker ?? null, one.intake));
  console.log('');
  console.log(pipelineTable(one, two));
  console.log('');
  for (const line of rateLatencyLines(rates)) console.log(line);
  const noWorker = one.backlogs[0]?.noWorker;
  const picture = writePicture(started, [
    { label: 'baseline (node:http)', perSecond: baseline.perSecond },
    ...(noWorker ? [{ label: 'tRPC, no worker (1st backlog)', perSecond: noWorker.perSecond }] : []),
    { label: 'tRPC + 1 worker', perSecond: one.intake.perSecond },
    { label: 'tRPC + 2 workers', perSecond: two.intake.perSecond },
    ...ratePhases(rates),
  ]);
  console.log(`\npicture (accepted/s and p99 per second, each phase): ${picture}`);
  process.stdout.write('\nlive latency: setting up… ');
  const latency = await runLatency();
  console.log('');
  for (const line of latencyLines(latency)) console.log(line);
  console.log('');
  for (const line of await powCostLines()) console.log(line);
  // The same intake with every limit at its default, beside limits off (bench/defended-intake.ts).
  process.stdout.write('\ndefence cost: ');
  const defence = await defenceCostLines();
  console.log('');
  for (const line of defence) console.log(line);
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (one.failures.length > 0 || two.failures.length > 0) {
    console.error('\nEND-TO-END INVARIANT CHECK FAILED');
    process.exitCode = 1;
  }
}

/** `BENCH_ONLY=latency`: the maximum and 80 % of it, their lines and their picture. */
async function latencyOnly(started: number): Promise<void> {
  const rates = await runRateLatency();
  console.log('');
  for (const line of rateLatencyLines(rates)) console.log(line);
  console.log(
    `\npicture (accepted/s and p99 per second, each phase): ${writePicture(started, ratePhases(rates))}`,
  );
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function ratePhases(rates: RateLatency): Parameters<typeof benchTimelineSvg>[1] {
  return [
    { label: 'tRPC + 1 worker, maximum', perSecond: rates.max.perSecond },
    { label: `tRPC + 1 worker, 80 % (${Math.round(rates.targetRate)}/s)`, perSecond: rates.at80.perSecond },
    ...rates.extra.map((e) => ({
      label: `tRPC + 1 worker, ${Math.round(e.fraction * 100)} % (${Math.round(e.targetRate)}/s)`,
      perSecond: e.result.perSecond,
    })),
  ];
}

/** Writes the run's picture into `BENCH_OUT_DIR` (default `.bench/`, git-ignored); returns its path. */
function writePicture(started: number, phases: Parameters<typeof benchTimelineSvg>[1]): string {
  const dir = path.resolve(ROOT, text('BENCH_OUT_DIR') || '.bench');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `bench-${stamp}.svg`);
  writeFileSync(file, benchTimelineSvg(`npm run bench, ${new Date(started).toISOString()}`, phases));
  return path.relative(process.cwd(), file) || file;
}

/** The baseline: the bare node:http server alone (no worker), intake only. */
async function runBaseline(): Promise<IntakeResult> {
  const label = 'baseline (node:http)';
  process.stdout.write(`${label}: setting up… `);
  const run = await startRun('baseline', label);
  try {
    const intake = await run.measureIntake(CFG.durationS, {
      label,
      warmup: true,
      keyPrefix: 'm',
      progress: 'measuring',
    });
    console.log('done');
    printWarnings(run.procs);
    return intake;
  } finally {
    await run.done();
  }
}

/**
 * How long a purchase takes to reach the shop page and the HUD, over the same SSE streams the
 * pages use: its own quiet server and worker (so the load runs above do not colour it).
 */
async function runLatency(): Promise<LiveLatency> {
  const run = await startRun('trpc', 'live latency');
  try {
    // Every payment succeeds here: a failed one returns its unit before a frame may see it.
    await run.startWorkers(1, 'lat-', { PAYMENT_FAILURE_RATE: '0' });
    process.stdout.write('measuring… ');
    return await measureLiveLatency({ url: run.url, adminPassword: ADMIN_PASSWORD, saleId: CFG.saleId });
  } finally {
    await run.done();
  }
}

await runBenchMain(main);

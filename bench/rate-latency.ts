/**
 * Latency at the maximum and at 80 % of it: one tRPC server with its worker alongside (a run of
 * its own), first as fast as it answers (the maximum accepted rate, the closed loop of the other
 * phases), then with the same connections held to 80 % of that rate (autocannon `overallRate`).
 * p50/p95/p99 of both. At the maximum the latency is mostly queueing (100 connections waiting
 * on one server: Little's law); at 80 % it shows what a shopper waits when the server keeps up.
 */
import { CFG } from './config.ts';
import { type IntakeResult, printWarnings, startRun } from './isolated-run.ts';

export interface RateLatency {
  max: IntakeResult;
  at80: IntakeResult;
  targetRate: number;
}

export async function runRateLatency(): Promise<RateLatency> {
  const label = 'tRPC + 1 worker, max and 80 %';
  process.stdout.write(`${label}: setting up… `);
  const run = await startRun('trpc', label);
  try {
    await run.startWorkers(1, 'rl-');
    const max = await run.measureIntake(CFG.durationS, {
      label: 'maximum',
      warmup: true,
      keyPrefix: 'rmax',
      progress: 'at the maximum',
    });
    const targetRate = (max.accepted / max.durationS) * 0.8;
    const at80 = await run.measureIntake(CFG.durationS, {
      label: '80 % of it',
      warmup: false,
      keyPrefix: 'r80',
      progress: `at ${Math.round(targetRate)}/s`,
      rate: targetRate,
    });
    console.log('done');
    printWarnings(run.procs);
    return { max, at80, targetRate };
  } finally {
    await run.done();
  }
}

export function rateLatencyLines(r: RateLatency): string[] {
  const row = (name: string, x: IntakeResult) =>
    `  ${name.padEnd(28)}${(x.accepted / x.durationS).toFixed(0).padStart(10)}${x.p50
      .toFixed(2)
      .padStart(10)}${x.p95.toFixed(2).padStart(10)}${x.p99.toFixed(2).padStart(10)}`;
  return [
    'latency at the maximum accepted rate and at 80 % of it (tRPC server + 1 worker alongside):',
    `  ${''.padEnd(28)}${'orders/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p95 ms'.padStart(10)}${'p99 ms'.padStart(10)}`,
    row('maximum (closed loop)', r.max),
    row(`80 % (target ${Math.round(r.targetRate)}/s)`, r.at80),
  ];
}

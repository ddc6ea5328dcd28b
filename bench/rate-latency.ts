/**
 * Latency at the maximum and at 80 % of it (issue 13: p99 ≤ 25 ms at 80 %): one tRPC server with
 * its worker alongside (a run of its own).
 *
 * 1. The maximum: autocannon's closed loop, as in the other phases (100 connections, each sends
 *    its next request when its answer arrives): its accepted orders/s is the maximum. Latency
 *    there is mostly queueing (100 requests waiting on one server: Little's law).
 * 2. 80 % of it: the open loop of bench/open-loop.ts — requests scheduled at 0.8 × the maximum,
 *    evenly spaced (constant inter-arrival), sent on any free connection of a pool of the same
 *    100 connections, latency from each request's scheduled time (coordinated omission
 *    corrected, as wrk2). It prints the rate achieved against the target, how many requests
 *    could not be sent on time, and the load generator's own CPU per request. (Before, this
 *    phase used autocannon's `overallRate`, which is the maximum in bursts — see open-loop.ts.)
 *
 * 3. With `BENCH_EXTRA_LOADS` (e.g. `0.4,0.6`), more open-loop phases at those fractions, after
 *    the 80 % one (so that its figure is taken as without them): the latency curve.
 *
 * For each it prints p50/p95/p99 and the CPU use of the server, of the worker and of the whole
 * machine (/proc), so that "80 %" can be checked to be 80 % of the server's load.
 */
import { CFG } from './config.ts';
import { type IntakeResult, printWarnings, startRun } from './isolated-run.ts';
import { LATE_MS } from './open-loop.ts';

export interface RateLatency {
  max: IntakeResult;
  at80: IntakeResult;
  targetRate: number;
  /** The `BENCH_EXTRA_LOADS` phases, in the order run. */
  extra: { fraction: number; targetRate: number; result: IntakeResult }[];
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
    const extra: RateLatency['extra'] = [];
    for (const fraction of CFG.extraLoads) {
      const rate = (max.accepted / max.durationS) * fraction;
      const result = await run.measureIntake(CFG.durationS, {
        label: `${Math.round(fraction * 100)} % of it`,
        warmup: false,
        keyPrefix: `r${Math.round(fraction * 100)}x`,
        progress: `at ${Math.round(rate)}/s`,
        rate,
      });
      extra.push({ fraction, targetRate: rate, result });
    }
    console.log('done');
    printWarnings(run.procs);
    return { max, at80, targetRate, extra };
  } finally {
    await run.done();
  }
}

const f = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

export function rateLatencyLines(r: RateLatency): string[] {
  const row = (name: string, x: IntakeResult) =>
    `  ${name.padEnd(30)}${[
      f(x.accepted / x.durationS),
      f(x.p50, 2),
      f(x.p95, 2),
      f(x.p99, 2),
      f(x.serverCpuPct),
      f(x.workersCpuPct),
      f(x.machineBusyPct),
      f(x.generatorCpuPct),
    ]
      .map((c) => c.padStart(10))
      .join('')}`;
  const lines = [
    'latency at the maximum accepted rate and at 80 % of it (tRPC server + 1 worker alongside):',
    `  ${''.padEnd(30)}${[
      'orders/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'server %',
      'worker %',
      'machine %',
      'loadgen %',
    ]
      .map((c) => c.padStart(10))
      .join('')}`,
    row('maximum (closed loop)', r.max),
    row(`80 % (open loop, ${Math.round(r.targetRate)}/s)`, r.at80),
    ...r.extra.map((e) =>
      row(`${Math.round(e.fraction * 100)} % (open loop, ${Math.round(e.targetRate)}/s)`, e.result),
    ),
    '  (server %, worker %, loadgen %: CPU of that process, % of one core; machine %: all cores busy, /proc/stat)',
  ];
  const s = r.at80.openLoop;
  if (s) {
    const rejected = [...r.at80.rejections.values()].reduce((a, b) => a + b, 0);
    lines.push(
      `  80 % phase: target ${f(s.targetRate)}/s, sent ${f(s.sentPerS)}/s, 2xx within the window ` +
        `${f(s.acceptedInWindowPerS)}/s (${f(r.at80.accepted)} of ${f(s.scheduled)} scheduled accepted, ${f(rejected)} refused or lost); ` +
        `server CPU ${f(r.at80.serverCpuPct / r.max.serverCpuPct, 2)} of the maximum's`,
      `  not sent on time (> ${LATE_MS} ms after scheduled): ${f(s.late)}; found every connection busy: ${f(s.waitedForConnection)}; ` +
        `send lag p50 ${f(s.sendLag.p50, 2)} / p99 ${f(s.sendLag.p99, 2)} / max ${f(s.sendLag.max, 1)} ms; ` +
        `at most ${f(s.maxInFlight)} in flight on ${f(s.connections)} connections; last answer ${f(s.drainMs)} ms after the window`,
      `  load generator: ${f(s.generatorCpuUsPerReq, 1)} µs of CPU per request (${f(s.generatorCpuPct)} % of one core)`,
    );
  }
  return lines;
}

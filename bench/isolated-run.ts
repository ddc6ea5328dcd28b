/**
 * One isolated run of the bench: a fresh database and namespace, a server (tRPC or the bare
 * baseline) with a sale of huge stock, workers on demand, the measured load, and everything
 * removed at the end — also when the bench is interrupted (bench/cleanup.ts).
 */

import { constants } from 'node:os';
import { type SpawnedApp, spawnApp } from '../scripts/spawn-app.mjs';
import { agent } from '../tests/support/client.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from '../tests/support/services.ts';
import { benchCleanup, exitOnSignals } from './cleanup.ts';
import { BASELINE_JS, CFG, serverEnv, workerEnv } from './config.ts';
import {
  createBenchSale,
  guestCookies,
  type LoadOutput,
  load,
  type Outcomes,
  percentiles,
  type SecondSample,
} from './load.ts';
import { OpenLoop, type OpenLoopOutput, type OpenLoopStats } from './open-loop.ts';
import { cpuSeconds, machineCpuTicks, peakRss, streamCount } from './probes.ts';

export type SideName = 'baseline' | 'trpc';

export interface IntakeResult {
  label: string;
  durationS: number;
  accepted: number;
  responses: number;
  p50: number;
  p95: number;
  p99: number;
  rejections: Map<string, number>;
  peakRssBytes: number;
  serverCpuUsPerReq: number;
  generatorCpuPct: number;
  /** CPU of the server process and of the run's workers during the measured load, % of one core. */
  serverCpuPct: number;
  workersCpuPct: number;
  /** The whole machine's busy CPU during the measured load (/proc/stat), % of all its cores. */
  machineBusyPct: number;
  streamMessages: number | null;
  /** The open loop's own figures (a load held to a rate). */
  openLoop?: OpenLoopStats;
  /** Accepted per second and p99 per second of the measured load (for the picture). */
  perSecond: SecondSample[];
}

/**
 * Runs a bench's `main` as every bench entry point does: SIGINT / SIGTERM undo what is running
 * (bench/cleanup.ts: every isolated run, `cleanup` if given, every spawned app) and exit 130 /
 * 143; an error is printed and fails the process; the HTTP agent is closed either way.
 */
export async function runBenchMain(
  main: () => Promise<void>,
  cleanup?: () => Promise<unknown>,
): Promise<void> {
  exitOnSignals();
  if (cleanup) benchCleanup.add(cleanup);
  try {
    await main();
  } catch (err) {
    // Interrupted: the signal's handler exits once the clean-up is done.
    if (!benchCleanup.interrupted) console.error(err);
    process.exitCode = 1;
  } finally {
    await agent.close();
  }
  const signal = benchCleanup.interrupted;
  if (signal) process.exitCode = 128 + (constants.signals[signal] ?? 0);
}

export type IsolatedRun = Awaited<ReturnType<typeof startRun>>;

/** One isolated run: a fresh database and namespace, the server, children to stop at the end. */
export async function startRun(side: SideName, label: string, extraServerEnv: Record<string, string> = {}) {
  benchCleanup.check();
  const db = await createTestDatabase();
  const ns = newNamespace();
  const procs: SpawnedApp[] = [];
  const stopAll = () => Promise.all(procs.map((p) => p.stop()));
  // Once: the run's end and an interruption may both ask for it.
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await stopAll();
      await cleanupNamespace(ns);
      await db.drop().catch((err: unknown) => console.error(`could not drop ${db.name}: ${String(err)}`));
    })());
  const forget = benchCleanup.add(cleanup);
  const done = async () => {
    await cleanup();
    forget();
  };
  /** Spawned and kept for the clean-up first, then waited for. */
  const spawn = async (o: Parameters<typeof spawnApp>[0]) => {
    benchCleanup.check();
    const app = await spawnApp({ ...o, port: 'free', waitReady: false });
    procs.push(app);
    return app;
  };
  try {
    const server = await spawn({
      label,
      ...(side === 'baseline'
        ? { script: BASELINE_JS, args: [CFG.saleId, String(CFG.stock), String(CFG.perUserLimit)] }
        : { app: 'server' as const }),
      env: { ...serverEnv(db, ns), ...extraServerEnv },
    });
    await server.ready();
    const url = server.url;

    let path: string;
    let userHeaders: Record<string, string>[];
    if (side === 'trpc') {
      await createBenchSale(url);
      userHeaders = await guestCookies(url, CFG.users);
      path = '/trpc/order.place';
    } else {
      userHeaders = Array.from({ length: CFG.users }, (_, i) => ({ 'x-user-id': `u_bench_${i}` }));
      path = '/order';
    }
    const outcomes: Outcomes = { accepted: new Set(), unanswered: new Set() };
    const run = { db, ns, url, path, userHeaders, label, server, procs, outcomes, stopAll, done };

    /** Starts `n` workers in parallel and waits until each answers /readyz (at its `url`). */
    const startWorkers = async (
      n: number,
      tag: string,
      extraEnv: Record<string, string> = {},
      /** Another build of the worker (bench:worker-ab compares builds). */
      script?: string,
    ): Promise<SpawnedApp[]> => {
      const started = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const id = `bench-${tag}${i + 1}`;
          return spawn({
            app: 'worker',
            ...(script ? { script } : {}),
            label: `worker ${id}`,
            env: { ...workerEnv(db, ns, id), ...extraEnv },
          });
        }),
      );
      await Promise.all(started.map((w) => w.ready()));
      return started;
    };

    /**
     * Warm-up (not counted) if asked, then the measured load, with the server's CPU and peak
     * RSS. Without `rate`: autocannon's closed loop, as fast as answered. With `rate`: the
     * open loop (bench/open-loop.ts), paced at `rate` requests/s, latency from each request's
     * scheduled time; its pool first runs 1 s at the rate, not counted, to open its connections.
     */
    const measureIntake = async (
      durationS: number,
      o: {
        label: string;
        warmup: boolean;
        keyPrefix: string;
        progress: string;
        rate?: number;
        /** Called just before and just after the measured load (bench/pipeline.ts reads the workers). */
        around?: { before: () => Promise<void>; after: () => Promise<void> };
      },
    ): Promise<IntakeResult> => {
      const common = { url, path, userHeaders, outcomes };
      if (o.warmup && CFG.warmupS > 0) {
        process.stdout.write('warming up… ');
        await load({ ...common, durationS: CFG.warmupS, keyPrefix: `${o.keyPrefix}w` });
      }
      const paced = o.rate ? new OpenLoop(url, CFG.connections) : null;
      try {
        const openLoopRun = (rate: number, d: number, keyPrefix: string) =>
          (paced as OpenLoop).run({ path, userHeaders, outcomes, rate, durationS: d, keyPrefix });
        if (o.rate) await openLoopRun(o.rate, 1, `${o.keyPrefix}p`);
        process.stdout.write(`${o.progress}… `);
        await o.around?.before();
        const pid = server.pid ?? 0;
        const workerPids = procs.filter((p) => p !== server && p.running()).map((p) => p.pid ?? 0);
        const cpuBefore = cpuSeconds(pid);
        const workersBefore = workerPids.reduce((t, w) => t + cpuSeconds(w), 0);
        const machineBefore = machineCpuTicks();
        const genBefore = process.cpuUsage();
        const wallBefore = performance.now();
        const out = o.rate
          ? await openLoopRun(o.rate, durationS, o.keyPrefix)
          : fromAutocannon(await load({ ...common, durationS, keyPrefix: o.keyPrefix }));
        const wallS = (performance.now() - wallBefore) / 1000;
        const genCpu = process.cpuUsage(genBefore);
        const serverCpuS = cpuSeconds(pid) - cpuBefore;
        const workersCpuS = workerPids.reduce((t, w) => t + cpuSeconds(w), 0) - workersBefore;
        const machineAfter = machineCpuTicks();
        await o.around?.after();
        const peakRssBytes = peakRss(pid);
        const streamMessages = await streamCount(ns);
        assertAlive(procs);
        return {
          label: o.label,
          durationS: out.durationS,
          accepted: out.accepted,
          responses: out.latencies.length,
          ...percentiles(out.latencies),
          rejections: out.rejections,
          peakRssBytes,
          serverCpuUsPerReq: out.latencies.length > 0 ? (serverCpuS * 1e6) / out.latencies.length : 0,
          generatorCpuPct: ((genCpu.user + genCpu.system) / 1e6 / wallS) * 100,
          serverCpuPct: (serverCpuS / wallS) * 100,
          workersCpuPct: (workersCpuS / wallS) * 100,
          machineBusyPct:
            ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
          streamMessages,
          perSecond: out.perSecond,
          ...(out.stats ? { openLoop: out.stats } : {}),
        };
      } finally {
        await paced?.close();
      }
    };
    return { ...run, startWorkers, measureIntake };
  } catch (err) {
    await done();
    throw err;
  }
}

/** autocannon's result in the open loop's shape. */
function fromAutocannon(out: LoadOutput): Omit<OpenLoopOutput, 'stats'> & { stats?: undefined } {
  return {
    durationS: out.result.duration,
    accepted: out.result['2xx'],
    latencies: out.latencies,
    rejections: out.rejections,
    perSecond: out.perSecond,
  };
}

/** A process of the run that died while it should have been running fails the run. */
export function assertAlive(procs: SpawnedApp[]): void {
  for (const p of procs)
    if (!p.stopping && !p.running()) throw new Error(`died during the run: ${p.report()}`);
}

/** What each process logged at warn or above (or outside its logger). */
export function printWarnings(procs: SpawnedApp[]): void {
  for (const p of procs) {
    const w = p.warnings();
    if (w.length > 0) console.log(`${p.label} logged:\n${w.join('\n')}`);
  }
}

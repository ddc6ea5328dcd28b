/**
 * The persistence pipeline behind the tRPC server: workers alongside the load (a warm-up until
 * every worker has drained batches, then the measured window), then backlog steps (load with no
 * worker, then fresh workers draining it), then the invariant check over every row of the run
 * and the raw insert baseline in the same database.
 */
import pg from 'pg';
import type { SpawnedApp } from '../scripts/spawn-app.mjs';
import { checkSale, describeViolations, waitForQuiet } from '../tests/support/checker/index.ts';
import { SHARED } from '../tests/support/services.ts';
import { CFG, PIPELINE_WARMUP_EXTRA_S } from './config.ts';
import { assertAlive, type IntakeResult, type IsolatedRun, printWarnings, startRun } from './isolated-run.ts';
import { load } from './load.ts';
import {
  type BatchStats,
  batchStats,
  batchStatsOf,
  counterDelta,
  cpuSeconds,
  type HotUpdates,
  hotUpdates,
  type Persisted,
  peakRss,
  persisted,
  sumCounters,
  type WorkerCounters,
  workerCounters,
} from './probes.ts';
import { type RawResult, rawInsert } from './raw-insert.ts';

export interface PipelineResult {
  workers: number;
  intake: IntakeResult;
  /** Accepted in the warm-up and the measured run (2xx with an order id), workers alongside. */
  acceptedAlongside: number;
  /** The warm-up before the measured window, workers alongside. */
  warmUp: WarmUp;
  /** The measured load alone, from the workers' counters and CPU. */
  window: Window;
  /** The whole phase: rows from the first accept of the warm-up, CPU from ready to drained. */
  alongside: Step;
  /** End of the load → drain observed (stream, open set, outbox empty), s. */
  loadEndToDrainedS: number;
  backlogs: BacklogStep[];
  /** Rows of the whole run by status. */
  byStatus: Record<string, number>;
  deadLetters: number;
  /** Row updates of `orders` over the whole run (the payment UPDATEs), and how many were HOT. */
  orderUpdates: HotUpdates;
  failures: string[];
  raw: RawResult | null;
}

/** One part of a run, workers and rows. */
export interface Step {
  workers: number;
  persisted: Persisted;
  batches: BatchStats | null;
  workerPeakRssBytes: number[];
  workerCpuUsPerRow: number;
}

/** The warm-up load before the measured window, and what each worker did in it. */
export interface WarmUp {
  /** Seconds of load (`CFG.pipelineWarmupS`, longer if a worker had not drained enough batches). */
  loadS: number;
  /** Batches each worker had drained when the window began. */
  batches: number[];
  /** Rows each worker had inserted when the window began. */
  persisted: number[];
  /** Worker CPU from ready to the window's start / rows inserted, µs. */
  workerCpuUsPerRow: number;
}

/** The measured window: from the workers' counters and CPU read just before and just after the load. */
export interface Window {
  seconds: number;
  /** Rows inserted by the workers in the window. */
  rows: number;
  perS: number;
  batches: BatchStats;
  workerCpuUsPerRow: number;
}

/** The workers' counters and CPU, read together. */
interface WorkerSample {
  at: number;
  counters: WorkerCounters[];
  cpuS: number;
}

async function sampleWorkers(ws: SpawnedApp[]): Promise<WorkerSample> {
  const counters = await Promise.all(ws.map(workerCounters));
  return { at: Date.now(), counters, cpuS: ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0) };
}

/**
 * Load with the workers alongside, not measured, for `CFG.pipelineWarmupS`, then 1 s more at a
 * time while a worker has drained fewer than `CFG.pipelineWarmBatches` batches (at most
 * `PIPELINE_WARMUP_EXTRA_S` more). What each worker did in it, read at its end.
 */
async function warmUp(run: IsolatedRun, ws: SpawnedApp[], ready: WorkerSample): Promise<WarmUp> {
  let loadS = 0;
  let start = ready;
  const drained = (s: WorkerSample) =>
    s.counters.map((c, i) => c.batches - (ready.counters[i]?.batches ?? 0));
  if (CFG.pipelineWarmupS > 0) {
    process.stdout.write('warming up… ');
    for (;;) {
      const step = loadS === 0 ? CFG.pipelineWarmupS : 1;
      const { url, path, userHeaders, outcomes } = run;
      await load({ url, path, userHeaders, outcomes, durationS: step, keyPrefix: `mw${loadS}` });
      loadS += step;
      start = await sampleWorkers(ws);
      if (Math.min(...drained(start)) >= CFG.pipelineWarmBatches) break;
      if (loadS >= CFG.pipelineWarmupS + PIPELINE_WARMUP_EXTRA_S) {
        process.stdout.write(`(a worker drained fewer than ${CFG.pipelineWarmBatches} batches) `);
        break;
      }
    }
  }
  const rows = start.counters.map((c, i) => c.persisted - (ready.counters[i]?.persisted ?? 0));
  const total = rows.reduce((a, b) => a + b, 0);
  return {
    loadS,
    batches: drained(start),
    persisted: rows,
    workerCpuUsPerRow: total > 0 ? ((start.cpuS - ready.cpuS) * 1e6) / total : Number.NaN,
  };
}

export interface BacklogStep extends Step {
  /** The load that made the backlog: the same server with no worker running. */
  noWorker: IntakeResult;
  inStream: number | null;
}

/**
 * The tRPC server with `workers` worker processes alongside: warm-up (`warmUp`), measured load
 * (the window: the workers' counters and CPU read just before and just after it), then the
 * drain. Then, for each count in `backlogs`, a backlog step: `CFG.backlogS` of load with no
 * worker running, then that many fresh workers started and the backlog drained (back to back, so
 * that the counts compare under the same conditions). Then, everything stopped: the invariant
 * check over every row of the run and (if `raw`) the raw insert baseline in the same database.
 */
export async function runPipeline(o: {
  workers: number;
  durationS: number;
  backlogs: number[];
  raw: boolean;
}): Promise<PipelineResult> {
  const label = `tRPC (order.place), ${o.workers} worker${o.workers > 1 ? 's' : ''}`;
  process.stdout.write(`${label}: setting up… `);
  const run = await startRun('trpc', label);
  try {
    const cpuOf = (ws: SpawnedApp[]) => ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0);
    /** Waits for the drain, reads what the workers measured, stops them. */
    const drainAndStop = async (ws: SpawnedApp[], cpuBefore: number) => {
      await waitForQuiet({
        ns: run.ns,
        saleId: CFG.saleId,
        redisUrl: SHARED.redis,
        natsUrl: SHARED.nats,
        timeoutMs: CFG.drainTimeoutS * 1000,
      });
      const drainedAt = Date.now();
      assertAlive(run.procs);
      const workerPeakRssBytes = ws.map((w) => peakRss(w.pid ?? 0));
      const cpuS = cpuOf(ws) - cpuBefore;
      const batches = await batchStats(ws);
      await Promise.all(ws.map((w) => w.stop()));
      return { drainedAt, workerPeakRssBytes, cpuS, batches };
    };

    const workers = await run.startWorkers(o.workers, 'a');
    const ready = await sampleWorkers(workers);
    const warm = await warmUp(run, workers, ready);
    // The window: the workers read just before and just after the measured load.
    let start = ready;
    let end = ready;
    const intake = await run.measureIntake(o.durationS, {
      label: `tRPC + ${o.workers} worker${o.workers > 1 ? 's' : ''}`,
      warmup: false,
      keyPrefix: 'm',
      progress: 'measuring',
      around: {
        before: async () => {
          start = await sampleWorkers(workers);
        },
        after: async () => {
          end = await sampleWorkers(workers);
        },
      },
    });
    const loadEnd = Date.now();
    const inWindow = counterDelta(sumCounters(end.counters), sumCounters(start.counters));
    const windowS = (end.at - start.at) / 1000;
    const window: Window = {
      seconds: windowS,
      rows: inWindow.persisted,
      perS: inWindow.persisted / windowS,
      batches: batchStatsOf(inWindow),
      workerCpuUsPerRow:
        inWindow.persisted > 0 ? ((end.cpuS - start.cpuS) * 1e6) / inWindow.persisted : Number.NaN,
    };
    const acceptedAlongside = run.outcomes.accepted.size;
    process.stdout.write('draining… ');
    const along = await drainAndStop(workers, ready.cpuS);

    const steps: {
      workers: number;
      start: number;
      ready: number;
      noWorker: IntakeResult;
      drained: Awaited<ReturnType<typeof drainAndStop>>;
    }[] = [];
    for (const n of o.backlogs) {
      const start = Date.now();
      const noWorker = await run.measureIntake(CFG.backlogS, {
        label: 'tRPC, no worker',
        warmup: false,
        keyPrefix: `b${n}`,
        progress: `backlog (no worker)`,
      });
      process.stdout.write(`${n} worker${n > 1 ? 's' : ''} draining… `);
      const ws = await run.startWorkers(n, `b${n}-`);
      const ready = Date.now();
      const drained = await drainAndStop(ws, cpuOf(ws));
      steps.push({ workers: n, start, ready, noWorker, drained });
    }
    // Everything idle from here on: the raw insert has the database (and the CPUs) to itself.
    await run.stopAll();

    const client = new pg.Client({ connectionString: run.db.url });
    await client.connect();
    try {
      const step = (
        workers: number,
        persistedRows: Persisted,
        d: Awaited<ReturnType<typeof drainAndStop>>,
      ): Step => ({
        workers,
        persisted: persistedRows,
        batches: d.batches,
        workerPeakRssBytes: d.workerPeakRssBytes,
        workerCpuUsPerRow: persistedRows.rows > 0 ? (d.cpuS * 1e6) / persistedRows.rows : Number.NaN,
      });
      const alongside = step(
        o.workers,
        await persisted(client, CFG.saleId, { before: steps[0]?.start }),
        along,
      );
      const backlogs: BacklogStep[] = [];
      for (const [i, st] of steps.entries()) {
        const rows = await persisted(client, CFG.saleId, {
          from: st.start,
          before: steps[i + 1]?.start,
          readyAt: st.ready,
        });
        backlogs.push({
          ...step(st.workers, rows, st.drained),
          noWorker: st.noWorker,
          inStream: st.noWorker.streamMessages,
        });
      }
      const whole = await persisted(client, CFG.saleId, {});
      // A row without an accepted call is allowed only under the idempotency key of a request
      // the client never saw answered (in flight when the load stopped, timed out): its outcome
      // is unknown to the client, as docs/architecture.md#invariants allows (I3).
      const { violations } = await checkSale({
        db: client,
        redis: SHARED.redis,
        ns: run.ns,
        saleId: CFG.saleId,
        total: CFG.stock,
        perUserLimit: CFG.perUserLimit,
        accepted: run.outcomes.accepted,
        indeterminate: { keys: run.outcomes.unanswered },
      });
      const failures = describeViolations(violations);
      const deadLetters = Number(
        (await client.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters')).rows[0]?.n,
      );
      // Every worker has exited (their counters are flushed); the raw insert only inserts.
      const orderUpdates = await hotUpdates(client, 'orders');
      let raw: RawResult | null = null;
      if (o.raw && CFG.rawRows > 0) {
        process.stdout.write('raw insert… ');
        raw = await rawInsert(client, CFG.saleId, CFG.rawRows, CFG.rawBatch);
      }
      console.log('done');
      printWarnings(run.procs);
      return {
        workers: o.workers,
        intake,
        acceptedAlongside,
        warmUp: warm,
        window,
        alongside,
        loadEndToDrainedS: (along.drainedAt - loadEnd) / 1000,
        backlogs,
        byStatus: whole.byStatus,
        deadLetters,
        orderUpdates,
        failures,
        raw,
      };
    } finally {
      await client.end();
    }
  } finally {
    await run.done();
  }
}

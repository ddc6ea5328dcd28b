/**
 * The persistence pipeline behind the tRPC server: workers alongside the load, then backlog
 * steps (load with no worker, then fresh workers draining it), then the invariant check over
 * every row of the run and the raw insert baseline in the same database.
 */
import pg from 'pg';
import type { SpawnedApp } from '../scripts/spawn-app.mjs';
import { checkSale, describeViolations, waitForQuiet } from '../tests/support/checker/index.ts';
import { SHARED } from '../tests/support/services.ts';
import { CFG } from './config.ts';
import { assertAlive, type IntakeResult, printWarnings, startRun } from './isolated-run.ts';
import {
  type BatchStats,
  batchStats,
  cpuSeconds,
  type HotUpdates,
  hotUpdates,
  type Persisted,
  peakRss,
  persisted,
} from './probes.ts';
import { type RawResult, rawInsert } from './raw-insert.ts';

export interface PipelineResult {
  workers: number;
  intake: IntakeResult;
  /** Accepted in the warm-up and the measured run (2xx with an order id), workers alongside. */
  acceptedAlongside: number;
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

export interface BacklogStep extends Step {
  /** The load that made the backlog: the same server with no worker running. */
  noWorker: IntakeResult;
  inStream: number | null;
}

/**
 * The tRPC server with `workers` worker processes alongside: warm-up and measured load, then
 * the drain. Then, for each count in `backlogs`, a backlog step: `CFG.backlogS` of load with no
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
    const cpuBefore = cpuOf(workers);
    const intake = await run.measureIntake(o.durationS, {
      label: `tRPC + ${o.workers} worker${o.workers > 1 ? 's' : ''}`,
      warmup: true,
      keyPrefix: 'm',
      progress: 'measuring',
    });
    const loadEnd = Date.now();
    const acceptedAlongside = run.outcomes.accepted.size;
    process.stdout.write('draining… ');
    const along = await drainAndStop(workers, cpuBefore);

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

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
 * database, and compares one worker with two (alongside the load and from a backlog).
 * See docs/benchmarks.md.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import { pendingForSale } from '@surge/infra';
import autocannon, { type Result } from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../packages/hot-state/src/keys.ts';
import { agent, TestClient } from '../tests/support/client.ts';
import { baseEnv } from '../tests/support/env.ts';
import { ROOT } from '../tests/support/paths.ts';
import {
  cleanupNamespace,
  createTestDatabase,
  freePort,
  newNamespace,
  SHARED,
  sleep,
  type TestDatabase,
} from '../tests/support/services.ts';
import { type LiveLatency, latencyLines, measureLiveLatency } from './live-latency.ts';

const num = (name: string, def: number, max = Number.POSITIVE_INFINITY): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? def : Number(raw);
  if (!Number.isFinite(v) || v < 0 || v > max)
    throw new Error(`${name} must be a number in [0, ${max}], got ${raw}`);
  return v;
};

const CFG = {
  durationS: num('BENCH_DURATION_S', 10),
  warmupS: num('BENCH_WARMUP_S', 2),
  /** Measured load of the tRPC run with two workers alongside. */
  scaleDurationS: num('BENCH_SCALE_DURATION_S', 5),
  /** Load with no worker running, for the backlog the workers then drain. 0: no backlog step. */
  backlogS: num('BENCH_BACKLOG_S', 6),
  connections: num('BENCH_CONNECTIONS', 100),
  // perUserLimit × users must stay well above the orders a run accepts, or USER_LIMIT takes over.
  users: num('BENCH_USERS', 2000),
  paymentFailureRate: num('BENCH_PAYMENT_FAILURE_RATE', 0.1, 1),
  workerBatchSize: num('BENCH_WORKER_BATCH_SIZE', 100),
  drainTimeoutS: num('BENCH_DRAIN_TIMEOUT_S', 300),
  rawRows: num('BENCH_RAW_ROWS', 50_000),
  rawBatch: 100,
  stock: 10_000_000,
  perUserLimit: 100,
  saleId: 'bench-sale',
};

const ADMIN_PASSWORD = `bench-admin-${randomBytes(8).toString('hex')}`;
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

function serverEnv(db: TestDatabase, ns: string, port: number): Record<string, string> {
  return {
    ...commonEnv(db, ns),
    PORT: String(port),
    ADMIN_PASSWORD,
    // The tests' default secret is refused in production.
    SESSION_SECRET: `bench-${randomBytes(24).toString('hex')}`,
  };
}

function workerEnv(db: TestDatabase, ns: string, port: number, id: string): Record<string, string> {
  return {
    ...commonEnv(db, ns),
    WORKER_PORT: String(port),
    WORKER_ID: id,
    PAYMENT_FAILURE_RATE: String(CFG.paymentFailureRate),
    PAYMENT_LATENCY_MS: '0',
    WORKER_BATCH_SIZE: String(CFG.workerBatchSize),
    // The worker logs nothing per order at info: its start and stop, shown if it dies.
    LOG_LEVEL: 'info',
    // Fault injection off, whatever the caller's environment says.
    SURGE_FAULT_WORKER_CRASH: '',
    SURGE_FAULT_NO_WORKING: '',
  };
}

const SERVER_JS = `${ROOT}/apps/server/dist/main.js`;
const WORKER_JS = `${ROOT}/apps/worker/dist/main.js`;
const BASELINE_TS = `${ROOT}/bench/baseline-server.ts`;
const BASELINE_JS = `${ROOT}/bench/dist/baseline-server.js`;
const CLK_TCK = 100;

type SideName = 'baseline' | 'trpc';

interface IntakeResult {
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
  streamMessages: number | null;
}

interface PipelineResult {
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
  failures: string[];
  raw: RawResult | null;
}

/** One part of a run, workers and rows. */
interface Step {
  workers: number;
  persisted: Persisted;
  batches: BatchStats | null;
  workerPeakRssBytes: number[];
  workerCpuUsPerRow: number;
}

interface BacklogStep extends Step {
  /** The load that made the backlog: the same server with no worker running. */
  noWorker: IntakeResult;
  inStream: number | null;
}

/** Rows of one part of a run and their timestamps, from the orders table. */
interface Persisted {
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
interface BatchStats {
  batches: number;
  meanSize: number;
  meanMs: number;
}

interface RawResult {
  rows: number;
  seconds: number;
  perS: number;
}

/** Everything to undo if the run is interrupted: children, databases, namespaces. */
const cleanups = new Set<() => Promise<void>>();

async function main(): Promise<void> {
  for (const js of [SERVER_JS, WORKER_JS])
    if (!existsSync(js)) throw new Error(`${js} is missing: run \`npx turbo run build\` first`);
  execFileSync(process.execPath, [`${ROOT}/scripts/bundle.mjs`, BASELINE_TS, BASELINE_JS], {
    cwd: ROOT,
    stdio: 'inherit',
  });

  const started = Date.now();
  console.log(`Surge order-intake benchmark, ${new Date(started).toISOString()}`);
  console.log(`machine: ${machineLine()}`);
  console.log(
    `load: autocannon ${CFG.connections} connections (keep-alive), ${CFG.durationS} s measured after ` +
      `${CFG.warmupS} s warm-up, ${CFG.users} users, 1 sale (stock ${CFG.stock.toLocaleString('en-US')}, ` +
      `perUserLimit ${CFG.perUserLimit}), quantity 1, unique idempotency key per request`,
  );
  console.log(
    'servers: built JS, NODE_ENV=production, rate limits off, LOG_LEVEL=warn; the baseline alone, ' +
      'tRPC with its worker process(es) alongside, and alone while it builds a backlog',
  );
  console.log(
    `workers: built JS, NODE_ENV=production, WORKER_BATCH_SIZE=${CFG.workerBatchSize}, ` +
      `PAYMENT_FAILURE_RATE=${CFG.paymentFailureRate}, PAYMENT_LATENCY_MS=0\n`,
  );

  const baseline = await runBaseline();
  // Interleaved, twice: the machine's other load varies from second to second.
  const backlogs = CFG.backlogS > 0 ? [1, 2, 1, 2] : [];
  const one = await runPipeline({ workers: 1, durationS: CFG.durationS, backlogs, raw: true });
  const two = await runPipeline({ workers: 2, durationS: CFG.scaleDurationS, backlogs: [], raw: false });
  console.log('');
  const noWorker = one.backlogs[0]?.noWorker ?? null;
  console.log(table([baseline, noWorker, one.intake]));
  const rate = (c: IntakeResult | null) => (c ? c.accepted / c.durationS : Number.NaN);
  const ratio = (x: number, y: number) => (Number.isFinite(x / y) ? (x / y).toFixed(2) : '-');
  console.log(
    `\nratio tRPC/baseline (accepted orders/s): ${ratio(rate(noWorker), rate(baseline))} with no worker ` +
      `running on either side, ${ratio(rate(one.intake), rate(baseline))} with the tRPC server's worker alongside`,
  );
  console.log('');
  console.log(pipelineTable(one, two));
  process.stdout.write('\nlive latency: setting up… ');
  const latency = await runLatency();
  console.log('');
  for (const line of latencyLines(latency)) console.log(line);
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (one.failures.length > 0 || two.failures.length > 0) {
    console.error('\nEND-TO-END INVARIANT CHECK FAILED');
    process.exitCode = 1;
  }
}

function machineLine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`;
}

type Proc = ReturnType<typeof spawnChild>;
interface WorkerProc {
  proc: Proc;
  /** Its health and metrics listener. */
  url: string;
}

/** One isolated run: a fresh database and namespace, the server, children to stop at the end. */
async function startRun(side: SideName, label: string) {
  const db = await createTestDatabase();
  const ns = newNamespace();
  const procs: Proc[] = [];
  const stopAll = () => Promise.all(procs.map((p) => p.stop()));
  const cleanup = async () => {
    await stopAll();
    await cleanupNamespace(ns);
    await db.drop().catch((err: unknown) => console.error(`could not drop ${db.name}: ${String(err)}`));
  };
  cleanups.add(cleanup);
  const done = async () => {
    cleanups.delete(cleanup);
    await cleanup();
  };
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args =
      side === 'baseline'
        ? [BASELINE_JS, CFG.saleId, String(CFG.stock), String(CFG.perUserLimit)]
        : [SERVER_JS];
    const server = spawnChild(label, args, { ...process.env, ...serverEnv(db, ns, port) });
    procs.push(server);
    await waitReady(`${url}/readyz`, server);

    let path: string;
    let userHeaders: Record<string, string>[];
    if (side === 'trpc') {
      const admin = new TestClient(url);
      await admin.loginAdmin(ADMIN_PASSWORD);
      const sale = await admin.mutate('admin.createSale', {
        id: CFG.saleId,
        name: `bench ${CFG.saleId}`,
        priceCents: 1000,
        totalStock: CFG.stock,
        perUserLimit: CFG.perUserLimit,
      });
      if (sale.status !== 200) throw new Error(`createSale: ${sale.status} ${JSON.stringify(sale.body)}`);
      userHeaders = await guestCookies(url, CFG.users);
      path = '/trpc/order.place';
    } else {
      userHeaders = Array.from({ length: CFG.users }, (_, i) => ({ 'x-user-id': `u_bench_${i}` }));
      path = '/order';
    }
    const outcomes: Outcomes = { accepted: new Set(), unanswered: new Set() };
    const run = { db, ns, url, path, userHeaders, label, server, procs, outcomes, stopAll, done };

    /** Starts `n` workers in parallel and waits until each answers /readyz. */
    const startWorkers = async (
      n: number,
      tag: string,
      extraEnv: Record<string, string> = {},
    ): Promise<WorkerProc[]> => {
      const started = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const port = await freePort();
          const id = `bench-${tag}${i + 1}`;
          const w = spawnChild(`worker ${id}`, [WORKER_JS], {
            ...process.env,
            ...workerEnv(db, ns, port, id),
            ...extraEnv,
          });
          procs.push(w);
          return { proc: w, url: `http://127.0.0.1:${port}` };
        }),
      );
      await Promise.all(started.map((w) => waitReady(`${w.url}/readyz`, w.proc)));
      return started;
    };

    /** Warm-up (not counted) if asked, then the measured load, with the server's CPU and peak RSS. */
    const measureIntake = async (
      durationS: number,
      o: { label: string; warmup: boolean; keyPrefix: string; progress: string },
    ): Promise<IntakeResult> => {
      const common = { url, path, userHeaders, outcomes };
      if (o.warmup && CFG.warmupS > 0) {
        process.stdout.write('warming up… ');
        await load({ ...common, durationS: CFG.warmupS, keyPrefix: `${o.keyPrefix}w` });
      }
      process.stdout.write(`${o.progress}… `);
      const pid = server.child.pid ?? 0;
      const cpuBefore = processCpuTicks(pid);
      const genBefore = process.cpuUsage();
      const out = await load({ ...common, durationS, keyPrefix: o.keyPrefix });
      const genCpu = process.cpuUsage(genBefore);
      const serverCpuS = (processCpuTicks(pid) - cpuBefore) / CLK_TCK;
      const peakRssBytes = peakRss(pid);
      const streamMessages = await streamCount(ns);
      assertAlive(procs);
      return {
        label: o.label,
        durationS: out.result.duration,
        accepted: out.result['2xx'],
        responses: out.latencies.length,
        ...percentiles(out.latencies),
        rejections: out.rejections,
        peakRssBytes,
        serverCpuUsPerReq: out.latencies.length > 0 ? (serverCpuS * 1e6) / out.latencies.length : 0,
        generatorCpuPct: ((genCpu.user + genCpu.system) / 1e6 / out.result.duration) * 100,
        streamMessages,
      };
    };
    return { ...run, startWorkers, measureIntake };
  } catch (err) {
    await done();
    throw err;
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
 * The tRPC server with `workers` worker processes alongside: warm-up and measured load, then
 * the drain. Then, for each count in `backlogs`, a backlog step: `CFG.backlogS` of load with no
 * worker running, then that many fresh workers started and the backlog drained (back to back, so
 * that the counts compare under the same conditions). Then, everything stopped: the invariant
 * check over every row of the run and (if `raw`) the raw insert baseline in the same database.
 */
async function runPipeline(o: {
  workers: number;
  durationS: number;
  backlogs: number[];
  raw: boolean;
}): Promise<PipelineResult> {
  const label = `tRPC (order.place), ${o.workers} worker${o.workers > 1 ? 's' : ''}`;
  process.stdout.write(`${label}: setting up… `);
  const run = await startRun('trpc', label);
  try {
    const cpuOf = (ws: WorkerProc[]) => ws.reduce((s, w) => s + processCpuTicks(w.proc.child.pid ?? 0), 0);
    /** Waits for the drain, reads what the workers measured, stops them. */
    const drainAndStop = async (ws: WorkerProc[], cpuBefore: number) => {
      await waitForDrain(run.ns, CFG.saleId, CFG.drainTimeoutS * 1000);
      const drainedAt = Date.now();
      assertAlive(run.procs);
      const workerPeakRssBytes = ws.map((w) => peakRss(w.proc.child.pid ?? 0));
      const cpuS = (cpuOf(ws) - cpuBefore) / CLK_TCK;
      const batches = await batchStats(ws);
      await Promise.all(ws.map((w) => w.proc.stop()));
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
      const failures = await checkInvariants({
        client,
        ns: run.ns,
        saleId: CFG.saleId,
        total: CFG.stock,
        perUserLimit: CFG.perUserLimit,
        outcomes: run.outcomes,
      });
      const deadLetters = Number(
        (await client.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters')).rows[0]?.n,
      );
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

function spawnChild(label: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let warnings: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-8000);
    // pino lines at warn (40) and above, and anything that is not a log line.
    for (const line of text.split('\n'))
      if (line.trim() && !/^\{"level":(10|20|30),/.test(line)) warnings = [...warnings, line].slice(-5);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit = '';
  child.once('exit', (code, signal) => {
    exit = `exited with ${signal ?? `code ${code}`} at ${new Date().toISOString()}`;
  });
  let stopping = false;
  return {
    label,
    child,
    /** SIGTERM (SIGKILL after 20 s) and wait for the exit. */
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
    isStopping: () => stopping,
    warnings: () => warnings,
    /** The output's tail and how the process ended, for an error message. */
    report: () => `${label} ${exit || 'still running'}; its last output:\n${tail}`,
  };
}

function assertAlive(procs: Proc[]): void {
  for (const p of procs)
    if (!p.isStopping() && (p.child.exitCode !== null || p.child.signalCode !== null))
      throw new Error(`died during the run: ${p.report()}`);
}

function printWarnings(procs: Proc[]): void {
  for (const p of procs) {
    const w = p.warnings();
    if (w.length > 0) console.log(`${p.label} logged:\n${w.join('\n')}`);
  }
}

async function waitReady(readyz: string, p: Proc): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`did not start: ${p.report()}`);
    const r = await fetch(readyz).catch(() => null);
    if (r?.status === 200) return;
    if (Date.now() > until) throw new Error(`not ready within 30 s: ${p.report()}`);
    await sleep(100);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** One signed guest cookie per user, from `session.start` (as a browser would get it). */
async function guestCookies(url: string, n: number): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => new TestClient(url));
    await Promise.all(batch.map((c) => c.startSession()));
    for (const c of batch) {
      const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (!cookie) throw new Error('session.start set no cookie');
      out.push({ cookie });
    }
  }
  return out;
}

/** What the client saw: order ids of 2xx answers, idempotency keys sent but never answered. */
interface Outcomes {
  accepted: Set<string>;
  unanswered: Set<string>;
}

interface LoadOutput {
  result: Result;
  latencies: number[];
  rejections: Map<string, number>;
}

/**
 * Runs autocannon for `durationS`: every request a unique idempotency key, the users taken in
 * turn. Latencies are those of every answered request; rejections are counted by the reason in
 * the error body (`error.data.reason`), or by HTTP status when there is none. The order id of
 * every 2xx answer (`result.data.orderId`) goes into `outcomes.accepted`; the idempotency key of
 * every request without an answer (in flight when autocannon stops, timed out, connection lost)
 * stays in `outcomes.unanswered`.
 */
function load(o: {
  url: string;
  path: string;
  userHeaders: Record<string, string>[];
  durationS: number;
  keyPrefix: string;
  outcomes: Outcomes;
}): Promise<LoadOutput> {
  const run = randomBytes(4).toString('hex');
  const latencies: number[] = [];
  const rejections = new Map<string, number>();
  const count = (reason: string) => rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
  let n = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        connections: CFG.connections,
        duration: o.durationS,
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: o.path,
            setupRequest: (req, context) => {
              const i = n++;
              const key = `${o.keyPrefix}-${run}-${i}`;
              // One request at a time per connection (pipelining 1): the context names it.
              context.key = key;
              o.outcomes.unanswered.add(key);
              return {
                ...req,
                headers: {
                  'content-type': 'application/json',
                  ...o.userHeaders[i % o.userHeaders.length],
                },
                body: JSON.stringify({
                  saleId: CFG.saleId,
                  quantity: 1,
                  idempotencyKey: key,
                }),
              };
            },
            onResponse: (status, body, context) => {
              o.outcomes.unanswered.delete(String(context.key));
              let parsed: {
                result?: { data?: { orderId?: string } };
                error?: { data?: { reason?: string } };
              };
              try {
                parsed = JSON.parse(body);
              } catch {
                parsed = {};
              }
              if (status >= 200 && status < 300) {
                const id = parsed.result?.data?.orderId;
                if (id) o.outcomes.accepted.add(id);
                else count('(2xx without orderId)');
                return;
              }
              count(parsed.error?.data?.reason ?? `HTTP ${status}`);
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        if (result.errors > 0) rejections.set('(connection errors)', result.errors);
        if (result.timeouts > 0) rejections.set('(timeouts)', result.timeouts);
        resolve({ result, latencies, rejections });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      latencies.push(ms);
    });
  });
}

function percentiles(values: number[]): { p50: number; p95: number; p99: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0 ? Number.NaN : (sorted[Math.ceil(q * sorted.length) - 1] ?? 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** utime + stime of a process, in clock ticks. */
function processCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Peak resident set size of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

/** Batches, mean batch size and mean batch time of the workers (their Prometheus histograms). */
async function batchStats(workers: WorkerProc[]): Promise<BatchStats | null> {
  try {
    const texts = await Promise.all(workers.map((w) => fetch(`${w.url}/metrics`).then((r) => r.text())));
    const sum = (name: string) =>
      texts.reduce((s, t) => s + Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(t)?.[1] ?? Number.NaN), 0);
    const batches = sum('surge_worker_batch_size_count');
    return {
      batches,
      meanSize: sum('surge_worker_batch_size_sum') / batches,
      meanMs: (sum('surge_worker_batch_seconds_sum') / batches) * 1000,
    };
  } catch {
    return null;
  }
}

/** Messages in the namespace's orders stream (not yet acked by a worker). */
async function streamCount(ns: string): Promise<number | null> {
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
 * Waits until the sale is quiet (tests/support/invariants.ts `waitForDrain`, without reading
 * every message): no message of the sale left in the stream (a work queue: acked ones are
 * removed), no open reservation record, no outbox entry.
 */
async function waitForDrain(ns: string, saleId: string, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: SHARED.nats, maxReconnectAttempts: 0, timeout: 2000 });
  const redis = new Redis(SHARED.redis);
  const k = saleKeys(ns, saleId);
  try {
    const jsm = await jetstreamManager(nc);
    const until = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const [inStream, open, outbox] = await Promise.all([
        pendingForSale(jsm, ns, saleId),
        redis.scard(k.open),
        redis.zcard(k.outbox),
      ]);
      if (inStream === 0 && open === 0 && outbox === 0) return;
      last = `${inStream} messages in the stream, ${open} open records, ${outbox} outbox entries`;
      if (Date.now() > until) throw new Error(`not drained within ${timeoutMs / 1000} s: ${last}`);
      await sleep(100);
    }
  } finally {
    redis.disconnect();
    await nc.close();
  }
}

/**
 * Rows of the sale reserved in `[from, before)` (ms since the epoch, compared with created_at)
 * and their timestamps: created_at is the reservation time (the accept, stamped by the server),
 * updated_at the time the row became final (the payment decision, PostgreSQL `now()`). The
 * window starts at the first accept, or at `readyAt` (the workers ready) when given.
 */
async function persisted(
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

/**
 * SPEC §3 on a quiet system, as tests/support/invariants.ts `checkInvariants` (without vitest):
 * I1 (no oversell), I2 (conservation), I3 (exactly once: every accepted order id has its row,
 * no row without an accepted call, none PENDING) and I5 (per-user limit, Redis agreeing with
 * PostgreSQL). Returns the failures, empty when all hold. A row without an accepted call is
 * allowed only under the idempotency key of a request the client never saw answered (in flight
 * when the load stopped, timed out): its outcome is unknown to the client, as SPEC §3 allows.
 */
async function checkInvariants(o: {
  client: pg.Client;
  ns: string;
  saleId: string;
  total: number;
  perUserLimit: number;
  outcomes: Outcomes;
}): Promise<string[]> {
  const { rows } = await o.client.query<{
    id: string;
    userId: string;
    quantity: number;
    status: string;
    key: string;
  }>(
    `SELECT id, user_id AS "userId", quantity, status::text AS status, idempotency_key AS key
     FROM orders WHERE sale_id = $1`,
    [o.saleId],
  );
  const redis = new Redis(SHARED.redis);
  const k = saleKeys(o.ns, o.saleId);
  const [remainingRaw, users] = await Promise.all([
    redis.hget(k.hot, 'remaining'),
    redis.hgetall(k.users),
  ]).finally(() => redis.disconnect());
  const failures: string[] = [];
  const remaining = Number(remainingRaw);
  const liveRows = rows.filter((r) => r.status === 'PENDING' || r.status === 'CONFIRMED');
  const live = liveRows.reduce((s, r) => s + r.quantity, 0);
  if (remainingRaw === null || !Number.isFinite(remaining)) failures.push(`I1: remaining is ${remainingRaw}`);
  if (remaining < 0) failures.push(`I1: remaining ${remaining} < 0`);
  if (live > o.total) failures.push(`I1: live units ${live} > total stock ${o.total}`);
  if (remaining + live !== o.total)
    failures.push(`I2: remaining ${remaining} + Σ live ${live} = ${remaining + live} ≠ total ${o.total}`);

  const ids = new Set(rows.map((r) => r.id));
  if (ids.size !== rows.length) failures.push(`I3: ${rows.length - ids.size} duplicate row ids`);
  const missing = [...o.outcomes.accepted].filter((id) => !ids.has(id));
  if (missing.length > 0)
    failures.push(
      `I3: ${missing.length} accepted orders have no row (e.g. ${missing.slice(0, 3).join(', ')})`,
    );
  const unexplained = rows.filter((r) => !o.outcomes.accepted.has(r.id) && !o.outcomes.unanswered.has(r.key));
  if (unexplained.length > 0)
    failures.push(
      `I3: ${unexplained.length} rows without an accepted call (e.g. ${unexplained
        .slice(0, 3)
        .map((r) => r.id)
        .join(', ')})`,
    );
  const pending = rows.filter((r) => r.status === 'PENDING').length;
  if (pending > 0) failures.push(`I3: ${pending} rows still PENDING once drained`);

  const perUser = new Map<string, number>();
  for (const r of liveRows) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + r.quantity);
  const over = [...perUser].filter(([, q]) => q > o.perUserLimit);
  if (over.length > 0) failures.push(`I5: ${over.length} users above perUserLimit ${o.perUserLimit}`);
  const redisUsers = new Set(Object.keys(users));
  const disagree = [...new Set([...redisUsers, ...perUser.keys()])].filter(
    (u) => Number(users[u] ?? 0) !== (perUser.get(u) ?? 0),
  );
  if (disagree.length > 0)
    failures.push(`I5: ${disagree.length} users whose held units in Redis ≠ Σ live rows in PostgreSQL`);
  return failures;
}

/**
 * The raw insert baseline: `rows` rows into a scratch copy of `orders` (same columns, defaults,
 * primary key, indexes, unique constraint and foreign key to `sales`) in batches of `batch`, one
 * `INSERT … SELECT FROM unnest(…)` per batch (the worker's statement, without ON CONFLICT),
 * autocommit, one connection. Returns rows/s over the loop.
 */
async function rawInsert(client: pg.Client, saleId: string, rows: number, batch: number): Promise<RawResult> {
  await client.query('DROP TABLE IF EXISTS bench_raw');
  await client.query('CREATE TABLE bench_raw (LIKE orders INCLUDING ALL)');
  await client.query(
    'ALTER TABLE bench_raw ADD FOREIGN KEY (sale_id) REFERENCES sales(id) ON DELETE RESTRICT ON UPDATE CASCADE',
  );
  const sql = `INSERT INTO bench_raw (id, sale_id, user_id, quantity, idempotency_key, status, correlation_id, epoch, created_at, updated_at)
    SELECT v.id, v.sale_id, v.user_id, v.quantity, v.key, 'PENDING', v.corr, v.epoch, v.created, now()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::timestamptz[])
      AS v(id, sale_id, user_id, quantity, key, corr, epoch, created)`;
  const run = randomBytes(4).toString('hex');
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < rows; done += batch) {
    const n = Math.min(batch, rows - done);
    const idx = Array.from({ length: n }, (_, j) => done + j);
    const now = new Date().toISOString();
    await client.query(sql, [
      idx.map(() => randomUUID()),
      idx.map(() => saleId),
      idx.map((i) => `u_raw_${i % CFG.users}`),
      idx.map(() => 1),
      idx.map((i) => `raw-${run}-${i}`),
      idx.map(() => randomUUID()),
      idx.map(() => 1),
      idx.map(() => now),
    ]);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const count = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM bench_raw')).rows[0]?.n);
  if (count !== rows) throw new Error(`raw insert: ${count} rows in bench_raw, expected ${rows}`);
  await client.query('DROP TABLE bench_raw');
  return { rows, seconds, perS: rows / seconds };
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

function pipelineTable(a: PipelineResult, b: PipelineResult): string {
  const head = (n: number) => `${n} worker${n > 1 ? 's' : ''}`;
  const status = (p: PipelineResult) =>
    ['CONFIRMED', 'FAILED_PAYMENT', 'FAILED', 'PENDING'].map((s) => fmt(p.byStatus[s] ?? 0)).join(' / ');
  const rss = (r: number[]) => (r.length > 0 ? r.map((x) => fmt(x / 2 ** 20, 1)).join(' + ') : '-');
  const batch = (x: BatchStats | null) =>
    x ? `${fmt(x.batches)}, ${fmt(x.meanSize, 1)}, ${fmt(x.meanMs, 1)}` : '-';
  const verdict = (p: PipelineResult) => (p.failures.length === 0 ? 'pass' : 'FAIL');
  const rate = (c: IntakeResult) => fmt(c.accepted / c.durationS);
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
    ['workers alongside the load (a run each)'],
    [
      '  load (s, warm-up + measured)',
      `${CFG.warmupS} + ${fmt(a.intake.durationS, 1)}`,
      `${CFG.warmupS} + ${fmt(b.intake.durationS, 1)}`,
    ],
    ['  accepted orders/s (measured)', rate(a.intake), rate(b.intake)],
    ['  latency p99 (ms)', fmt(a.intake.p99, 2), fmt(b.intake.p99, 2)],
    ['  accepted orders (warm-up + measured)', fmt(a.acceptedAlongside), fmt(b.acceptedAlongside)],
    [
      '  messages in stream at load end',
      fmt(a.intake.streamMessages ?? Number.NaN),
      fmt(b.intake.streamMessages ?? Number.NaN),
    ],
    ['  rows persisted', fmt(a.alongside.persisted.rows), fmt(b.alongside.persisted.rows)],
    [
      '  first accept → last row final (s)',
      fmt(a.alongside.persisted.windowS, 2),
      fmt(b.alongside.persisted.windowS, 2),
    ],
    ['  persisted orders/s', fmt(a.alongside.persisted.perS), fmt(b.alongside.persisted.perS)],
    [
      '  last accept → last row final (s)',
      fmt(a.alongside.persisted.lastAcceptToFinalS, 2),
      fmt(b.alongside.persisted.lastAcceptToFinalS, 2),
    ],
    ['  load end → drained (s)', fmt(a.loadEndToDrainedS, 2), fmt(b.loadEndToDrainedS, 2)],
    [
      '  worker batches: count, mean size, mean time (ms)',
      batch(a.alongside.batches),
      batch(b.alongside.batches),
    ],
    [
      '  worker CPU per persisted order (µs)',
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
    ['  invariants I1 I2 I3 I5', verdict(a), verdict(b)],
  ];
  const lines = layout(rows);
  for (const p of [a, b]) for (const f of p.failures) lines.push(`  ${head(p.workers)} run: ${f}`);
  const ratio = (x: number | undefined, y: number | undefined) =>
    x !== undefined && y !== undefined && Number.isFinite(x / y) ? (x / y).toFixed(2) : '-';
  lines.push(
    '',
    `persisted orders/s, 2 workers ÷ 1 worker: alongside the load ${ratio(b.alongside.persisted.perS, a.alongside.persisted.perS)}, ` +
      `from a backlog ${ratio(b2?.persisted.perS, b1?.persisted.perS)}`,
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

let interrupted = false;
async function interrupt(signal: NodeJS.Signals): Promise<void> {
  if (interrupted) return;
  interrupted = true;
  console.error(`\n${signal}: cleaning up…`);
  await Promise.allSettled([...cleanups].map((c) => c()));
  process.exit(130);
}
process.on('SIGINT', (s) => void interrupt(s));
process.on('SIGTERM', (s) => void interrupt(s));

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await agent.close();
}

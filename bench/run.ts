/**
 * `npm run bench`: order intake over HTTP, tRPC (`order.place` on the built server) against a
 * bare node:http baseline that calls the same `services.placeOrder` (bench/baseline-server.ts),
 * and the persistence pipeline behind it (the built worker, PostgreSQL).
 *
 * Each server runs built JavaScript with NODE_ENV=production in its own child process, with its
 * own database and namespace, a fresh sale of huge stock and one worker process consuming
 * alongside; autocannon (keep-alive) drives it for a fixed time, one side after the other.
 * Prints accepted orders/s, latency percentiles, rejections by reason, peak RSS and the ratio
 * tRPC / baseline. On the tRPC side the bench then waits for the drain and prints persisted
 * orders/s, the time from the last accept to the last row final, the worker's peak RSS, dead
 * letters and the end-to-end invariant check (I1 I2 I3 I5); it measures a raw multi-row insert
 * rate into the same database, and repeats a shorter tRPC run with two workers.
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
import { ROOT } from '../tests/support/paths.ts';
import {
  cleanupNamespace,
  createTestDatabase,
  eventually,
  freePort,
  newNamespace,
  SHARED,
  sleep,
  type TestDatabase,
} from '../tests/support/services.ts';

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
  /** Measured time of the second tRPC run, the one with two workers. */
  scaleDurationS: num('BENCH_SCALE_DURATION_S', 5),
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

// tests/support/stack.ts cannot be imported here: it loads the server's sources, whose .lua
// imports only the bundler and vitest understand. Its baseEnv, for production.
const ADMIN_PASSWORD = `bench-admin-${randomBytes(8).toString('hex')}`;
function commonEnv(db: TestDatabase, ns: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: SHARED.redis,
    NATS_URL: SHARED.nats,
    SURGE_NAMESPACE: ns,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Both processes (re)declare the stream: room for every accepted order even if the worker
    // falls far behind (the baseline side accepts faster than one worker persists).
    STREAM_MAX_BYTES: '2GiB',
  };
}

function serverEnv(db: TestDatabase, ns: string, port: number): Record<string, string> {
  return {
    ...commonEnv(db, ns),
    PORT: String(port),
    ADMIN_PASSWORD,
    // The tests' default secret is refused in production.
    SESSION_SECRET: `bench-${randomBytes(24).toString('hex')}`,
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
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
    LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL || 'warn',
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

interface SideResult {
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
  pipeline: PipelineResult | null;
}

interface PipelineResult {
  workers: number;
  warmupS: number;
  durationS: number;
  /** Accepted in the warm-up and the measured run together (2xx with an order id). */
  acceptedTotal: number;
  acceptedPerS: number;
  backlogAtLoadEnd: number | null;
  rows: number;
  byStatus: Record<string, number>;
  persistedPerS: number;
  /** first accept (min created_at) → last row final (max updated_at), s. */
  windowS: number;
  /** last accept (max created_at) → last row final (max updated_at), s. */
  lastAcceptToFinalS: number;
  /** end of the load → drain observed (stream, open set, outbox empty), s. */
  loadEndToDrainedS: number;
  workerPeakRssBytes: number[];
  workerCpuUsPerRow: number;
  deadLetters: number;
  failures: string[];
  raw: RawResult | null;
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
  const date = new Date();
  const machine = machineLine();
  console.log(`Surge order-intake benchmark, ${date.toISOString()}`);
  console.log(`machine: ${machine}`);
  console.log(
    `load: autocannon ${CFG.connections} connections (keep-alive), ${CFG.durationS} s measured after ` +
      `${CFG.warmupS} s warm-up, ${CFG.users} users, 1 sale (stock ${CFG.stock.toLocaleString('en-US')}, ` +
      `perUserLimit ${CFG.perUserLimit}), quantity 1, unique idempotency key per request`,
  );
  console.log(
    'servers: built JS, NODE_ENV=production, rate limits off, LOG_LEVEL=warn, one worker process alongside',
  );
  console.log(
    `workers: built JS, NODE_ENV=production, WORKER_BATCH_SIZE=${CFG.workerBatchSize}, ` +
      `PAYMENT_FAILURE_RATE=${CFG.paymentFailureRate}, PAYMENT_LATENCY_MS=0\n`,
  );

  const baseline = await runSide({ side: 'baseline', workers: 1, durationS: CFG.durationS });
  const trpc = await runSide({ side: 'trpc', workers: 1, durationS: CFG.durationS, drain: true, raw: true });
  const scaled = await runSide({ side: 'trpc', workers: 2, durationS: CFG.scaleDurationS, drain: true });
  console.log('');
  console.log(table(baseline, trpc));
  console.log('');
  const one = trpc.pipeline;
  const two = scaled.pipeline;
  if (!one || !two) throw new Error('a tRPC run has no pipeline result');
  console.log(pipelineTable(one, two));
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

async function runSide(o: {
  side: SideName;
  workers: number;
  durationS: number;
  drain?: boolean;
  raw?: boolean;
}): Promise<SideResult> {
  const { side } = o;
  const base = side === 'baseline' ? 'baseline (node:http)' : 'tRPC (order.place)';
  const label = o.drain ? `${base}, ${o.workers} worker${o.workers > 1 ? 's' : ''}` : base;
  process.stdout.write(`${label}: setting up… `);
  const db = await createTestDatabase();
  const ns = newNamespace();
  const children: ChildProcess[] = [];
  const stopAll = () => Promise.all(children.map((c) => stopChild(c)));
  const cleanup = async () => {
    await stopAll();
    await cleanupNamespace(ns);
    await db.drop().catch((err: unknown) => console.error(`could not drop ${db.name}: ${String(err)}`));
  };
  cleanups.add(cleanup);
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args =
      side === 'baseline'
        ? [BASELINE_JS, CFG.saleId, String(CFG.stock), String(CFG.perUserLimit)]
        : [SERVER_JS];
    const server = spawnChild(args, { ...process.env, ...serverEnv(db, ns, port) });
    children.push(server.child);
    await waitReady(label, url, server);

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

    const workers: ReturnType<typeof spawnChild>[] = [];
    for (let i = 1; i <= o.workers; i++) {
      const wport = await freePort();
      const w = spawnChild([WORKER_JS], { ...process.env, ...workerEnv(db, ns, wport, `bench-w${i}`) });
      children.push(w.child);
      workers.push(w);
      await waitReady(`worker ${i}`, `http://127.0.0.1:${wport}`, w);
    }
    const workerPids = workers.map((w) => w.child.pid ?? 0);
    const workerCpuBefore = workerPids.reduce((s, p) => s + processCpuTicks(p), 0);

    const outcomes: Outcomes = { accepted: new Set(), unanswered: new Set() };
    process.stdout.write('warming up… ');
    if (CFG.warmupS > 0)
      await load({ url, path, userHeaders, durationS: CFG.warmupS, keyPrefix: 'w', outcomes });

    process.stdout.write('measuring… ');
    const pid = server.child.pid ?? 0;
    const cpuBefore = processCpuTicks(pid);
    const genBefore = process.cpuUsage();
    const out = await load({ url, path, userHeaders, durationS: o.durationS, keyPrefix: 'm', outcomes });
    const loadEnd = Date.now();
    const genCpu = process.cpuUsage(genBefore);
    const serverCpuS = (processCpuTicks(pid) - cpuBefore) / CLK_TCK;
    const peakRssBytes = peakRss(pid);
    const streamMessages = await streamCount(ns);
    for (const [name, c] of [
      [label, server] as const,
      ...workers.map((w, i) => [`worker ${i + 1}`, w] as const),
    ])
      if (c.child.exitCode !== null)
        throw new Error(`${name} exited ${c.child.exitCode} during the run:\n${c.output()}`);

    let pipeline: PipelineResult | null = null;
    if (o.drain) {
      process.stdout.write('draining… ');
      await waitForDrain(ns, CFG.saleId, CFG.drainTimeoutS * 1000);
      const drainedAt = Date.now();
      for (const [i, w] of workers.entries())
        if (w.child.exitCode !== null) throw new Error(`worker ${i + 1} died:\n${w.output()}`);
      const workerPeakRssBytes = workerPids.map(peakRss);
      const workerCpuS = (workerPids.reduce((s, p) => s + processCpuTicks(p), 0) - workerCpuBefore) / CLK_TCK;
      // Everything idle from here on: the raw insert has the database (and the CPUs) to itself.
      await stopAll();

      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const t = await persistedTimes(client, CFG.saleId);
        const failures = await checkInvariants({
          client,
          ns,
          saleId: CFG.saleId,
          total: CFG.stock,
          perUserLimit: CFG.perUserLimit,
          outcomes,
        });
        const deadLetters = Number(
          (await client.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters')).rows[0]?.n,
        );
        let raw: RawResult | null = null;
        if (o.raw && CFG.rawRows > 0) {
          process.stdout.write('raw insert… ');
          raw = await rawInsert(client, CFG.saleId, CFG.rawRows, CFG.rawBatch);
        }
        pipeline = {
          workers: o.workers,
          warmupS: CFG.warmupS,
          durationS: o.durationS,
          acceptedTotal: outcomes.accepted.size,
          acceptedPerS: out.result['2xx'] / out.result.duration,
          backlogAtLoadEnd: streamMessages,
          rows: t.rows,
          byStatus: t.byStatus,
          persistedPerS: t.rows / t.windowS,
          windowS: t.windowS,
          lastAcceptToFinalS: t.lastAcceptToFinalS,
          loadEndToDrainedS: (drainedAt - loadEnd) / 1000,
          workerPeakRssBytes,
          workerCpuUsPerRow: t.rows > 0 ? (workerCpuS * 1e6) / t.rows : Number.NaN,
          deadLetters,
          failures,
          raw,
        };
      } finally {
        await client.end();
      }
    }
    console.log('done');
    const warnings = [server, ...workers].map((c) => c.output().trim()).filter(Boolean);
    for (const w of warnings) console.log(`${label} logged:\n${w.split('\n').slice(-5).join('\n')}`);

    return {
      label: base,
      durationS: out.result.duration,
      accepted: out.result['2xx'],
      responses: out.latencies.length,
      ...percentiles(out.latencies),
      rejections: out.rejections,
      peakRssBytes,
      serverCpuUsPerReq: out.latencies.length > 0 ? (serverCpuS * 1e6) / out.latencies.length : 0,
      generatorCpuPct: ((genCpu.user + genCpu.system) / 1e6 / out.result.duration) * 100,
      streamMessages,
      pipeline,
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit = '';
  child.once('exit', (code, signal) => {
    exit = `exited with ${signal ?? `code ${code}`} at ${new Date().toISOString()}`;
  });
  return { child, output: () => `${tail}${exit ? `\n(${exit})` : ''}` };
}

async function waitReady(label: string, url: string, started: ReturnType<typeof spawnChild>): Promise<void> {
  await eventually(async () => {
    if (started.child.exitCode !== null)
      throw new Error(`${label} exited ${started.child.exitCode}:\n${started.output()}`);
    const r = await fetch(`${url}/readyz`).catch(() => null);
    return r?.status === 200;
  }, 30_000);
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

/** The sale's rows and their timestamps (created_at = reservation time, updated_at = final). */
async function persistedTimes(client: pg.Client, saleId: string) {
  const { rows } = await client.query<{
    status: string;
    n: number;
    first: number;
    last: number;
    final: number;
  }>(
    `SELECT status::text AS status, count(*)::int AS n,
            extract(epoch FROM min(created_at))::float8 AS first,
            extract(epoch FROM max(created_at))::float8 AS last,
            extract(epoch FROM max(updated_at))::float8 AS final
     FROM orders WHERE sale_id = $1 GROUP BY status`,
    [saleId],
  );
  const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
  const total = rows.reduce((s, r) => s + r.n, 0);
  const first = Math.min(...rows.map((r) => r.first));
  const last = Math.max(...rows.map((r) => r.last));
  const final = Math.max(...rows.map((r) => r.final));
  return { rows: total, byStatus, windowS: final - first, lastAcceptToFinalS: final - last };
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

function layout(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
  );
}

function table(a: SideResult, b: SideResult): string {
  const rows: [string, string, string][] = [
    ['', a.label, b.label],
    ['accepted orders/s', fmt(a.accepted / a.durationS), fmt(b.accepted / b.durationS)],
    ['answered requests/s', fmt(a.responses / a.durationS), fmt(b.responses / b.durationS)],
    ['latency p50 (ms)', fmt(a.p50, 2), fmt(b.p50, 2)],
    ['latency p95 (ms)', fmt(a.p95, 2), fmt(b.p95, 2)],
    ['latency p99 (ms)', fmt(a.p99, 2), fmt(b.p99, 2)],
  ];
  const reasons = [...new Set([...a.rejections.keys(), ...b.rejections.keys()])].sort();
  const total = (r: Map<string, number>) => [...r.values()].reduce((s, x) => s + x, 0);
  rows.push(['rejections', fmt(total(a.rejections)), fmt(total(b.rejections))]);
  for (const reason of reasons)
    rows.push([`  ${reason}`, fmt(a.rejections.get(reason) ?? 0), fmt(b.rejections.get(reason) ?? 0)]);
  rows.push(
    ['peak RSS (MiB)', fmt(a.peakRssBytes / 2 ** 20, 1), fmt(b.peakRssBytes / 2 ** 20, 1)],
    ['server CPU per request (µs)', fmt(a.serverCpuUsPerReq), fmt(b.serverCpuUsPerReq)],
    ['load generator CPU (%)', fmt(a.generatorCpuPct), fmt(b.generatorCpuPct)],
    ['accepted (measured run)', fmt(a.accepted), fmt(b.accepted)],
    [
      'messages in stream at load end',
      fmt(a.streamMessages ?? Number.NaN),
      fmt(b.streamMessages ?? Number.NaN),
    ],
  );
  const lines = layout(rows);
  const ratio = b.accepted / b.durationS / (a.accepted / a.durationS);
  lines.push(
    '',
    `ratio tRPC/baseline (accepted orders/s): ${Number.isFinite(ratio) ? ratio.toFixed(2) : '-'}`,
  );
  return lines.join('\n');
}

function pipelineTable(a: PipelineResult, b: PipelineResult): string {
  const head = (p: PipelineResult) => `${p.workers} worker${p.workers > 1 ? 's' : ''}`;
  const status = (p: PipelineResult) =>
    ['CONFIRMED', 'FAILED_PAYMENT', 'FAILED', 'PENDING'].map((s) => fmt(p.byStatus[s] ?? 0)).join(' / ');
  const rss = (p: PipelineResult) => p.workerPeakRssBytes.map((r) => fmt(r / 2 ** 20, 1)).join(' + ');
  const verdict = (p: PipelineResult) => (p.failures.length === 0 ? 'pass' : 'FAIL');
  const rows: string[][] = [
    ['tRPC side, drained', head(a), head(b)],
    ['load (s, warm-up + measured)', `${a.warmupS} + ${a.durationS}`, `${b.warmupS} + ${b.durationS}`],
    ['accepted orders/s (measured)', fmt(a.acceptedPerS), fmt(b.acceptedPerS)],
    ['accepted orders (incl. warm-up)', fmt(a.acceptedTotal), fmt(b.acceptedTotal)],
    [
      'messages in stream at load end',
      fmt(a.backlogAtLoadEnd ?? Number.NaN),
      fmt(b.backlogAtLoadEnd ?? Number.NaN),
    ],
    ['rows persisted', fmt(a.rows), fmt(b.rows)],
    ['  CONFIRMED / FAILED_PAYMENT / FAILED / PENDING', status(a), status(b)],
    ['first accept → last row final (s)', fmt(a.windowS, 2), fmt(b.windowS, 2)],
    ['persisted orders/s', fmt(a.persistedPerS), fmt(b.persistedPerS)],
    ['last accept → last row final (s)', fmt(a.lastAcceptToFinalS, 2), fmt(b.lastAcceptToFinalS, 2)],
    ['load end → drained (s)', fmt(a.loadEndToDrainedS, 2), fmt(b.loadEndToDrainedS, 2)],
    ['worker peak RSS (MiB)', rss(a), rss(b)],
    ['worker CPU per persisted order (µs)', fmt(a.workerCpuUsPerRow), fmt(b.workerCpuUsPerRow)],
    ['dead letters', fmt(a.deadLetters), fmt(b.deadLetters)],
    ['invariants I1 I2 I3 I5', verdict(a), verdict(b)],
  ];
  const lines = layout(rows);
  for (const p of [a, b]) for (const f of p.failures) lines.push(`  ${head(p)}: ${f}`);
  const scale = b.persistedPerS / a.persistedPerS;
  lines.push(
    '',
    `persisted orders/s, 2 workers / 1 worker: ${Number.isFinite(scale) ? scale.toFixed(2) : '-'}`,
  );
  if (a.raw) {
    const ratio = a.persistedPerS / a.raw.perS;
    lines.push(
      `raw PostgreSQL insert (${fmt(a.raw.rows)} rows, batches of ${CFG.rawBatch}, INSERT … SELECT FROM unnest, ` +
        `1 connection): ${fmt(a.raw.perS)} rows/s (${fmt(a.raw.seconds, 2)} s)`,
      `persisted/s (1 worker) ÷ raw insert/s: ${Number.isFinite(ratio) ? ratio.toFixed(2) : '-'}`,
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

/**
 * `npm run bench`: order intake over HTTP, tRPC (`order.place` on the built server) against a
 * bare node:http baseline that calls the same `services.placeOrder` (bench/baseline-server.ts).
 *
 * Each side runs built JavaScript with NODE_ENV=production in its own child process, with its
 * own database and namespace and a fresh sale of huge stock; autocannon (keep-alive) drives it
 * for a fixed time, one side after the other. Prints accepted orders/s, latency percentiles,
 * rejections by reason, peak RSS and the ratio tRPC / baseline. See docs/benchmarks.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import autocannon, { type Result } from 'autocannon';
import { agent, TestClient } from '../tests/support/client.ts';
import { ROOT } from '../tests/support/paths.ts';
import {
  cleanupNamespace,
  createTestDatabase,
  eventually,
  freePort,
  newNamespace,
  SHARED,
  type TestDatabase,
} from '../tests/support/services.ts';

const num = (name: string, def: number): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? def : Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return v;
};

const CFG = {
  durationS: num('BENCH_DURATION_S', 10),
  warmupS: num('BENCH_WARMUP_S', 2),
  connections: num('BENCH_CONNECTIONS', 100),
  // perUserLimit × users must stay well above the orders a run accepts, or USER_LIMIT takes over.
  users: num('BENCH_USERS', 2000),
  stock: 10_000_000,
  perUserLimit: 100,
  saleId: 'bench-sale',
};

// tests/support/stack.ts cannot be imported here: it loads the server's sources, whose .lua
// imports only the bundler and vitest understand. Its baseEnv, for production.
const ADMIN_PASSWORD = `bench-admin-${randomBytes(8).toString('hex')}`;
function serverEnv(db: TestDatabase, ns: string, port: number): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    REDIS_URL: SHARED.redis,
    NATS_URL: SHARED.nats,
    SURGE_NAMESPACE: ns,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_PASSWORD,
    // The tests' default secret is refused in production.
    SESSION_SECRET: `bench-${randomBytes(24).toString('hex')}`,
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
    LOG_LEVEL: 'warn',
    // No worker drains the stream here: room for every accepted order.
    STREAM_MAX_BYTES: '2GiB',
  };
}

const SERVER_JS = `${ROOT}/apps/server/dist/main.js`;
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
}

/** Everything to undo if the run is interrupted: children, databases, namespaces. */
const cleanups = new Set<() => Promise<void>>();

async function main(): Promise<void> {
  if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run \`npx turbo run build\` first`);
  execFileSync(process.execPath, [`${ROOT}/scripts/bundle.mjs`, BASELINE_TS, BASELINE_JS], {
    cwd: ROOT,
    stdio: 'inherit',
  });

  const date = new Date();
  const machine = machineLine();
  console.log(`Surge order-intake benchmark, ${date.toISOString()}`);
  console.log(`machine: ${machine}`);
  console.log(
    `load: autocannon ${CFG.connections} connections (keep-alive), ${CFG.durationS} s measured after ` +
      `${CFG.warmupS} s warm-up, ${CFG.users} users, 1 sale (stock ${CFG.stock.toLocaleString('en-US')}, ` +
      `perUserLimit ${CFG.perUserLimit}), quantity 1, unique idempotency key per request`,
  );
  console.log('servers: built JS, NODE_ENV=production, rate limits off, LOG_LEVEL=warn, no worker\n');

  const baseline = await runSide('baseline');
  const trpc = await runSide('trpc');
  console.log('');
  console.log(table(baseline, trpc));
}

function machineLine(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`;
}

async function runSide(side: SideName): Promise<SideResult> {
  const label = side === 'baseline' ? 'baseline (node:http)' : 'tRPC (order.place)';
  process.stdout.write(`${label}: setting up… `);
  const db = await createTestDatabase();
  const ns = newNamespace();
  let child: ChildProcess | null = null;
  const cleanup = async () => {
    if (child) await stopChild(child);
    await cleanupNamespace(ns);
    await db.drop().catch((err: unknown) => console.error(`could not drop ${db.name}: ${String(err)}`));
  };
  cleanups.add(cleanup);
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { ...process.env, ...serverEnv(db, ns, port) };
    const args =
      side === 'baseline'
        ? [BASELINE_JS, CFG.saleId, String(CFG.stock), String(CFG.perUserLimit)]
        : [SERVER_JS];
    const started = spawnServer(args, env);
    child = started.child;
    await eventually(async () => {
      if (started.child.exitCode !== null)
        throw new Error(`${label} exited ${started.child.exitCode}:\n${started.output()}`);
      const r = await fetch(`${url}/readyz`).catch(() => null);
      return r?.status === 200;
    }, 30_000);

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
    process.stdout.write('warming up… ');
    if (CFG.warmupS > 0) await load({ url, path, userHeaders, durationS: CFG.warmupS, keyPrefix: 'w' });

    process.stdout.write('measuring… ');
    const pid = started.child.pid ?? 0;
    const cpuBefore = processCpuTicks(pid);
    const genBefore = process.cpuUsage();
    const out = await load({ url, path, userHeaders, durationS: CFG.durationS, keyPrefix: 'm' });
    const genCpu = process.cpuUsage(genBefore);
    const serverCpuS = (processCpuTicks(pid) - cpuBefore) / CLK_TCK;
    const peakRssBytes = peakRss(pid);
    const streamMessages = await streamCount(ns);
    console.log('done');
    if (started.child.exitCode !== null)
      throw new Error(`${label} died during the run:\n${started.output()}`);
    const warnings = started.output().trim();
    if (warnings) console.log(`${label} logged:\n${warnings.split('\n').slice(-5).join('\n')}`);

    return {
      label,
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
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

function spawnServer(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
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

interface LoadOutput {
  result: Result;
  latencies: number[];
  rejections: Map<string, number>;
}

/**
 * Runs autocannon for `durationS`: every request a unique idempotency key, the users taken in
 * turn. Latencies are those of every answered request; rejections are counted by the reason in
 * the error body (`error.data.reason`), or by HTTP status when there is none.
 */
function load(o: {
  url: string;
  path: string;
  userHeaders: Record<string, string>[];
  durationS: number;
  keyPrefix: string;
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
            setupRequest: (req) => {
              const i = n++;
              return {
                ...req,
                headers: {
                  'content-type': 'application/json',
                  ...o.userHeaders[i % o.userHeaders.length],
                },
                body: JSON.stringify({
                  saleId: CFG.saleId,
                  quantity: 1,
                  idempotencyKey: `${o.keyPrefix}-${run}-${i}`,
                }),
              };
            },
            onResponse: (status, body) => {
              if (status >= 200 && status < 300) return;
              let reason: string | undefined;
              try {
                reason = (JSON.parse(body) as { error?: { data?: { reason?: string } } }).error?.data?.reason;
              } catch {
                // not JSON: counted by status
              }
              count(reason ?? `HTTP ${status}`);
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

/** Messages in the namespace's orders stream (no worker consumes them in this bench). */
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

function table(a: SideResult, b: SideResult): string {
  const fmt = (v: number, digits = 0) =>
    Number.isFinite(v)
      ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '-';
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
      'messages in stream (incl. warm-up)',
      fmt(a.streamMessages ?? Number.NaN),
      fmt(b.streamMessages ?? Number.NaN),
    ],
  );
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const w2 = Math.max(...rows.map((r) => r[2].length));
  const lines = rows.map(([k, x, y]) => `${k.padEnd(w0)}  ${x.padStart(w1)}  ${y.padStart(w2)}`);
  const ratio = b.accepted / b.durationS / (a.accepted / a.durationS);
  lines.push(
    '',
    `ratio tRPC/baseline (accepted orders/s): ${Number.isFinite(ratio) ? ratio.toFixed(2) : '-'}`,
  );
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

/**
 * `npm run bench:sse`: `live.sale` fan-out. One built server (NODE_ENV=production, no worker:
 * `live.sale` shows the stock in Redis, which a reservation moves at once), a fresh sale, and
 * BENCH_SSE_SUBSCRIBERS streams (10,000) opened by BENCH_SSE_PROCESSES separate client
 * processes (bench/sse/client.mjs), each stream from its own local address in 127.0.0.0/8 at
 * BENCH_SSE_PER_ADDRESS streams per address (10), with the server's `SSE_MAX_PER_IP` at its
 * default (20): the per-IP cap stays on and is not what limits the run. Then
 * BENCH_SSE_SAMPLES purchases (5), one at a time: the time from sending `order.place` until each
 * stream saw the lower stock. Prints the connection set-up rate, that time's percentiles over
 * every stream and purchase, the server's CPU per frame fanned out (from sending the purchase
 * until every stream had it) and while idle, and its resident memory per subscriber.
 * Figures, not assertions; see docs/benchmarks.md.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestClient } from '../../tests/support/client.ts';
import { ROOT } from '../../tests/support/paths.ts';
import { CFG, num, text } from '../config.ts';
import { runBenchMain, startRun } from '../isolated-run.ts';
import { percentiles } from '../load.ts';
import { cpuSeconds } from '../probes.ts';
import { machineLine } from '../report.ts';

const SUBSCRIBERS = num('BENCH_SSE_SUBSCRIBERS', 10_000);
const PROCESSES = Math.max(1, num('BENCH_SSE_PROCESSES', 4));
const PER_ADDRESS = Math.max(1, num('BENCH_SSE_PER_ADDRESS', 10));
const SAMPLES = Math.max(1, num('BENCH_SSE_SAMPLES', 5));
const SSE_MAX_PER_IP = 20;
/** The server's connection cap (default 10,000), with room for the bench's own clients. */
const MAX_CONNECTIONS = SUBSCRIBERS + 1000;
/** A directory: the server runs with `--cpu-prof` and leaves its profile there. */
const CPU_PROF_DIR = text('BENCH_SSE_CPU_PROF');

type FromChild =
  | { type: 'connected'; setupMs: number[]; failed: number; why: Record<string, number>; retried: number }
  | { type: 'arrived'; latenciesMs: number[]; missed: number };

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The n-th client address: 127.1.x.y, y in 1–250 (never a .0 or .255). */
const address = (i: number) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function reply<T extends FromChild['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<FromChild, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromChild) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as Extract<FromChild, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`client process exited (${code})`)));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const addresses = Math.ceil(SUBSCRIBERS / PER_ADDRESS);
  console.log(`Surge live.sale fan-out benchmark, ${new Date(started).toISOString()}`);
  console.log(`machine: ${machineLine()}`);
  console.log(
    `clients: ${SUBSCRIBERS.toLocaleString('en-US')} live.sale SSE streams from ${PROCESSES} separate processes, ` +
      `${PER_ADDRESS} per local address over ${addresses} addresses in 127.0.0.0/8; ` +
      `server SSE_MAX_PER_IP=${SSE_MAX_PER_IP} (on), MAX_CONNECTIONS=${MAX_CONNECTIONS}, built JS, NODE_ENV=production, no worker\n`,
  );
  process.stdout.write('setting up… ');
  const run = await startRun('trpc', 'sse fan-out', {
    SSE_MAX_PER_IP: String(SSE_MAX_PER_IP),
    MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    ...(CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {}),
  });
  const children: ChildProcess[] = [];
  try {
    const pid = run.server.pid ?? 0;
    const port = Number(new URL(run.url).port);
    const rssBefore = rssBytes(pid);
    for (let i = 0; i < PROCESSES; i++)
      children.push(
        fork(join(ROOT, 'bench/sse/client.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
      );

    process.stdout.write('connecting… ');
    const connectStart = performance.now();
    const cpuConnect = cpuSeconds(pid);
    const connected = await Promise.all(
      children.map((child, c) => {
        const mine = Array.from({ length: addresses }, (_, i) => i).filter((i) => i % PROCESSES === c);
        const done = reply(child, 'connected');
        child.send({
          cmd: 'connect',
          port,
          saleId: CFG.saleId,
          addresses: mine.map(address),
          perAddress: PER_ADDRESS,
          concurrency: 50,
        });
        return done;
      }),
    );
    const connectS = (performance.now() - connectStart) / 1000;
    const connectCpuS = cpuSeconds(pid) - cpuConnect;
    const setupMs = connected.flatMap((c) => c.setupMs);
    const failed = connected.reduce((n, c) => n + c.failed, 0);
    const why = new Map<string, number>();
    for (const c of connected) for (const [k, v] of Object.entries(c.why)) why.set(k, (why.get(k) ?? 0) + v);
    const open = setupMs.length;
    const rssAfter = rssBytes(pid);

    // Idle: no change, so no frame; what 10,000 open streams cost doing nothing.
    process.stdout.write('idle… ');
    const idleCpu = cpuSeconds(pid);
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuPct = ((cpuSeconds(pid) - idleCpu) / ((performance.now() - idleStart) / 1000)) * 100;

    process.stdout.write('purchases… ');
    const shopper = new TestClient(run.url);
    await shopper.startSession();
    const latencies: number[] = [];
    let missed = 0;
    let frameCpuS = 0;
    const perPurchaseP95: number[] = [];
    for (let i = 1; i <= SAMPLES; i++) {
      const cpu0 = cpuSeconds(pid);
      const t0 = process.hrtime.bigint();
      const waits = children.map((child) => reply(child, 'arrived'));
      for (const child of children) child.send({ cmd: 'expect', below: CFG.stock - i, t0: String(t0) });
      const placed = await shopper.mutate('order.place', {
        saleId: CFG.saleId,
        quantity: 1,
        idempotencyKey: `sse-purchase-${i}`,
      });
      if (placed.status !== 200)
        throw new Error(`order.place: ${placed.status} ${JSON.stringify(placed.body)}`);
      const arrived = await Promise.all(waits);
      frameCpuS += cpuSeconds(pid) - cpu0;
      const these = arrived.flatMap((a) => a.latenciesMs);
      perPurchaseP95.push(percentiles(these).p95);
      latencies.push(...these);
      missed += arrived.reduce((n, a) => n + a.missed, 0);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log('done\n');

    const setup = percentiles(setupMs);
    const lat = percentiles(latencies);
    const f = (n: number, d = 0) =>
      n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const reasons = [...why].map(([k, v]) => `${k} ${f(v)}`).join(', ');
    const retried = connected.reduce((n, c) => n + c.retried, 0);
    console.log(
      `streams open                          ${f(open)} (${f(failed)} failed${reasons ? `: ${reasons}` : ''}; ` +
        `${f(retried)} connection attempts reset and retried, as an EventSource would)`,
    );
    console.log(
      `connection set-up                     ${f(open / connectS)} streams/s (${f(connectS, 1)} s for all); ` +
        `first frame after p50 ${f(setup.p50, 1)} ms, p95 ${f(setup.p95, 1)} ms, p99 ${f(setup.p99, 1)} ms`,
    );
    console.log(
      `server CPU while connecting           ${f((connectCpuS * 1e6) / Math.max(1, open))} µs per stream`,
    );
    console.log(
      `purchase → every stream (${SAMPLES} purchases × ${f(open)} streams): p50 ${f(lat.p50)} ms, ` +
        `p95 ${f(lat.p95)} ms, p99 ${f(lat.p99)} ms, max ${f(Math.max(...latencies))} ms; ` +
        `p95 per purchase ${perPurchaseP95.map((p) => f(p)).join(', ')} ms; missed ${missed}`,
    );
    console.log(
      `server CPU per frame fanned out       ${f((frameCpuS * 1000) / SAMPLES, 1)} ms ` +
        `(${f((frameCpuS * 1e6) / SAMPLES / Math.max(1, open), 2)} µs per stream; from the purchase until every stream had it)`,
    );
    console.log(`server CPU idle with the streams open ${f(idleCpuPct, 1)} % of one core`);
    console.log(
      `server RSS                            ${f(rssBefore / 2 ** 20, 1)} MiB before, ${f(rssAfter / 2 ** 20, 1)} MiB with the streams: ` +
        `${f((rssAfter - rssBefore) / Math.max(1, open) / 1024, 1)} KiB per subscriber`,
    );
    console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const child of children) {
      if (child.connected) child.send({ cmd: 'close' });
    }
    await run.done();
  }
}

await runBenchMain(main);

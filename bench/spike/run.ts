/**
 * `npm run bench:spike` (issue 9 §5): a flash-sale spike against a built server in production
 * mode, unqueued (run A: the crowd hammers order.place) and queued (run B, queued.ts: the crowd
 * joins the waiting room in the 2 s before the start, 5,000 follow live.queue over SSE from
 * separate processes, the rest poll queue.get, and each buys once admitted). Prints time to sold
 * out, answers/s, latencies, server CPU per answer by kind, the live.queue fan-out, fairness, and
 * writes a picture of each run (docs/benchmarks/spike-*.svg). Per-user and per-IP rate limits
 * are switched off (the HTTP calls come from one client address); the output says so.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { liveApps, spawnApp } from '../../scripts/spawn-app.mjs';
import { TestClient } from '../../tests/support/client.ts';
import { ROOT } from '../../tests/support/paths.ts';
import { testRedis } from '../../tests/support/redis-client.ts';
import { cleanupNamespace, createTestDatabase, newNamespace, SHARED } from '../../tests/support/services.ts';
import { benchCleanup, exitOnSignals } from '../cleanup.ts';
import { ADMIN_PASSWORD, serverEnv, workerEnv } from '../config.ts';
import { guestCookies, median, percentiles } from '../load.ts';
import { cpuSeconds, peakRss, streamCount } from '../probes.ts';
import { timelineSvg } from './chart.ts';
import { bare, call, closeCrowd, parallel, rankCorrelation, Timeline } from './crowd.ts';
import { type SpikePart, spikeOptions } from './options.ts';
import { fanOut, runB, type SpikeContext } from './queued.ts';

const OPT = spikeOptions();
const CROWD = OPT.crowd;
const STOCK = OPT.stock;
const CONN = OPT.connections;
const RATE = OPT.rate;
const PHASE_S = OPT.costS;
const COST_ROUNDS = OPT.costRounds;
const MAX_RUN_S = OPT.maxRunS;
const FOLLOWERS = OPT.followers;
const FOLLOWER_PROCESSES = OPT.followerProcesses;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** BENCH_SPIKE_ONLY: the parts to run, comma-separated (default all): cost, a, fanout, b. */
const runs = (part: SpikePart) => OPT.parts.includes(part);

// The server's and worker's whole output is kept (.bench/spike-<time>/), and the tail of a process
// that exits while the bench still needs it is printed at once.
const logDir = `${ROOT}/.bench/spike-${new Date().toISOString().replace(/[:.]/g, '-')}`;
mkdirSync(logDir, { recursive: true });
// SIGINT / SIGTERM: every spawned app stopped, the followers' processes gone with the bench (their
// IPC channel closes), the namespace and the database removed (bench/cleanup.ts), exit 130 / 143.
exitOnSignals();
const ns = newNamespace();
const db = await createTestDatabase();
let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    closeCrowd();
    await Promise.allSettled(liveApps().map((a) => a.stop()));
    await cleanupNamespace(ns);
    await db.drop().catch(() => undefined);
  })());
benchCleanup.add(stop);
const server = await spawnApp({
  app: 'server',
  port: 'free',
  env: serverEnv(db, ns),
  waitReady: false,
  logFile: `${logDir}/server.log`,
});
const worker = await spawnApp({
  app: 'worker',
  port: 'free',
  env: { ...workerEnv(db, ns, 'spike-w1'), PAYMENT_FAILURE_RATE: '0' },
  waitReady: false,
  logFile: `${logDir}/worker.log`,
});
console.log(`logs: ${relative(ROOT, logDir)}/server.log, worker.log`);
for (const app of [server, worker])
  void app.exited.then(() => {
    if (!app.stopping)
      console.error(`\n!! ${app.report()}\n!! (whole log: ${relative(ROOT, logDir)}/${app.label}.log)\n`);
  });

try {
  await Promise.all([server.ready(), worker.ready()]);
  const url = server.url;
  const pid = server.pid as number;
  console.log(
    `bench:spike — crowd ${CROWD}, stock ${STOCK}, perUserLimit 1, ${CONN} connections; parts: ${OPT.parts.join(', ')}`,
  );
  console.log(
    'limits: RATE_LIMIT_PER_USER=0 and RATE_LIMIT_PER_IP=0 (per-IP rate limits switched off: the HTTP calls come from one client address); the live.queue streams come from separate processes over many 127.0.0.0/8 source addresses, SSE_MAX_PER_IP at its default',
  );
  const admin = new TestClient(url);
  await admin.loginAdmin(ADMIN_PASSWORD);
  const createSale = async (o: Record<string, unknown>) => {
    const r = await admin.mutate('admin.createSale', { name: String(o.id), priceCents: 1000, ...o });
    if (r.status !== 200) throw new Error(`createSale ${JSON.stringify(r.body)}`);
  };
  const t = Date.now();
  const cookies = (await guestCookies(url, CROWD)).map((h) => h.cookie as string);
  console.log(`sessions: ${CROWD} made beforehand in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  /** Waits (at most `maxMs`) until the orders stream holds no message; returns the ms waited. */
  async function untilStreamEmpty(maxMs: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < maxMs) {
      const n = await streamCount(ns);
      if (n === 0 || n === null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return Date.now() - t0 < 300 ? 0 : Date.now() - t0;
  }

  // --- CPU per answer by kind: one kind of answer at a time, the server's CPU time over it.
  if (runs('cost')) await costPhase();
  async function costPhase() {
    await createSale({ id: 'cost-acc', totalStock: 10_000_000, perUserLimit: 100 });
    await createSale({
      id: 'cost-queued',
      totalStock: 10_000_000,
      perUserLimit: 100,
      queue: { admitPerSecond: 1 },
    });
    await createSale({ id: 'cost-sold', totalStock: 0, perUserLimit: 100 });
    const replayUsers = Math.min(CROWD, 1000);
    await parallel(CONN, async (w) => {
      for (let u = w; u < replayUsers; u += CONN)
        await call(
          url,
          null,
          'order.place',
          'mutation',
          { saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-replay-${u}` },
          cookies[u] as string,
        );
    });
    // The floor: a bare request of the same server (POST /healthz with an order's headers and
    // body, same client and connections).
    const kinds: [string, (u: number, key: string) => unknown][] = [
      ['floor', (u, k) => ({ saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-fl-${u}-${k}` })],
      ['accepted', (u, k) => ({ saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-acc-${u}-${k}` })],
      [
        'NOT_ADMITTED',
        (u, k) => ({ saleId: 'cost-queued', quantity: 1, idempotencyKey: `spike-na-${u}-${k}` }),
      ],
      ['SOLD_OUT', (u, k) => ({ saleId: 'cost-sold', quantity: 1, idempotencyKey: `spike-so-${u}-${k}` })],
      ['replay', (u) => ({ saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-replay-${u}` })],
    ];
    // Rounds of every kind in turn: this machine's speed drifts by ×1.5–2 within a minute, so
    // each kind is compared with the accepted order of its own round, and the rounds' median and
    // range are printed (round 1 is also the cold one).
    const rounds: Map<string, { perS: number; cpuUs: number; share: number }>[] = [];
    const drained: string[] = [];
    for (let r = 0; r < COST_ROUNDS; r++) {
      const round = new Map<string, { perS: number; cpuUs: number; share: number }>();
      rounds.push(round);
      for (const [name, input] of kinds) {
        // Each kind on a quiet machine: the worker first persists what the kind before left in
        // the stream (the accepted orders), or its drain takes the CPU of the next kind's answers.
        const waited = await untilStreamEmpty(60_000);
        if (waited > 0) drained.push(`${(waited / 1000).toFixed(1)} s before ${name} (round ${r + 1})`);
        const tl = new Timeline();
        const until = Date.now() + PHASE_S * 1000;
        const cpu0 = cpuSeconds(pid);
        await parallel(CONN, async (w) => {
          for (let i = 0; Date.now() < until; i++) {
            const u = name === 'replay' ? (w + i * CONN) % replayUsers : (w + i * CONN) % CROWD;
            const key = `r${r}-${i}`;
            if (name === 'floor') await bare(url, tl, input(u, key), cookies[u] as string);
            else await call(url, tl, 'order.place', 'mutation', input(u, key), cookies[u] as string);
          }
        });
        const cpu = cpuSeconds(pid) - cpu0;
        const total = [...tl.totals().values()].reduce((a, b) => a + b, 0);
        round.set(name, {
          perS: total / PHASE_S,
          cpuUs: (cpu * 1e6) / total,
          share: (tl.totals().get(name) ?? 0) / total,
        });
      }
    }
    const of = (name: string, r: number, f: 'cpuUs' | 'perS' | 'share') =>
      rounds[r]?.get(name)?.[f] ?? Number.NaN;
    const stat = (xs: number[], digits: number) => {
      const m = median(xs);
      return `${m.toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
    };
    const all = rounds.map((_, r) => r);
    console.log(
      `\nserver CPU per order.place answer, by kind (one kind at a time, ${PHASE_S} s each; ${COST_ROUNDS} rounds of every kind; median (range) over the rounds):`,
    );
    if (drained.length > 0)
      console.log(`  (waited for the worker to empty the orders stream: ${drained.join(', ')})`);
    for (const [name] of kinds) {
      const us = all.map((r) => of(name, r, 'cpuUs'));
      const ratio = all.map((r) => of(name, r, 'cpuUs') / of('accepted', r, 'cpuUs'));
      const aboveFloor = all.map((r) => of(name, r, 'cpuUs') - of('floor', r, 'cpuUs'));
      const share = Math.min(...all.map((r) => of(name, r, 'share')));
      console.log(
        `  ${name.padEnd(13)} ${stat(us, 0).padStart(16)} µs  ×${stat(ratio, 2)} of accepted` +
          (name === 'floor' ? '' : `  ${stat(aboveFloor, 0)} µs above the floor`) +
          `  ${stat(
            all.map((r) => of(name, r, 'perS')),
            0,
          )} answers/s  (≥ ${(share * 100).toFixed(0)} % of that kind)`,
      );
    }
    console.log(
      `  the floor: POST /healthz with an order's headers and body (the same client and connections), answered without reading them; round 1 (cold) ${of('floor', 0, 'cpuUs').toFixed(0)} µs, later rounds ${all
        .slice(1)
        .map((r) => of('floor', r, 'cpuUs').toFixed(0))
        .join(', ')} µs`,
    );
    console.log(
      `  per round, µs (floor / accepted / NOT_ADMITTED / SOLD_OUT / replay): ${all
        .map((r) => kinds.map(([n]) => of(n, r, 'cpuUs').toFixed(0)).join(' / '))
        .join('; ')}`,
    );
  }

  // --- sampling the sale for the picture
  const sampleLoop = (saleId: string, tl: Timeline, done: () => boolean) =>
    (async () => {
      while (!done()) {
        const s = await admin.query<{
          remaining: number;
          queue: { waiting: number; admitted: number } | null;
        }>('sale.get', { saleId });
        const v = s.body.result?.data;
        if (v)
          tl.samples.push({
            atMs: Date.now() - tl.t0,
            waiting: v.queue?.waiting ?? 0,
            admitted: v.queue?.admitted ?? 0,
            sold: STOCK - v.remaining,
          });
        await sleep(250);
      }
    })();

  const report = async (
    name: string,
    tl: Timeline,
    startsMs: number,
    soldOutMs: number | null,
    cpu0: number,
    bought: boolean[],
    order: number[],
    extra: string[] = [],
  ) => {
    const cpu = cpuSeconds(pid) - cpu0;
    const totals = tl.totals();
    const answers = [...totals.values()].reduce((a, b) => a + b, 0);
    const seconds = (Date.now() - tl.t0) / 1000;
    console.log(`\n${name}`);
    console.log(
      `  time from start to sold out: ${soldOutMs === null ? 'not sold out' : `${((soldOutMs - startsMs) / 1000).toFixed(2)} s`}`,
    );
    console.log(
      `  answers: ${answers} in ${seconds.toFixed(1)} s = ${(answers / seconds).toFixed(0)}/s; by kind: ${[...totals].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    for (const [proc, l] of tl.latencies) {
      const p = percentiles(l);
      console.log(`  ${proc}: p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms (${l.length})`);
    }
    console.log(
      `  server CPU ${cpu.toFixed(1)} s = ${((cpu * 1e6) / answers).toFixed(0)} µs per answer; peak RSS ${(peakRss(pid) / 2 ** 20).toFixed(0)} MiB`,
    );
    for (const line of extra) console.log(`  ${line}`);
    const rho = rankCorrelation(
      order,
      bought.map((b) => (b ? 1 : 0)),
    );
    console.log(
      `  fairness: ${bought.filter(Boolean).length} buyers; Spearman ρ(arrival order, bought) = ${rho.toFixed(3)}`,
    );
    const file = `docs/benchmarks/spike-${name[4]?.toLowerCase()}.svg`;
    writeFileSync(`${ROOT}/${file}`, timelineSvg(name, tl));
    console.log(`  picture: ${file}`);
  };

  // --- Run A: unqueued, the crowd hammers order.place from the start.
  if (runs('a')) {
    const startsMs = Date.now() + 1000;
    await createSale({
      id: 'spike-a',
      totalStock: STOCK,
      perUserLimit: 1,
      startsAt: new Date(startsMs).toISOString(),
    });
    const tl = new Timeline();
    const bought = new Array<boolean>(CROWD).fill(false);
    const first = new Array<number>(CROWD).fill(CROWD);
    let arrivals = 0;
    let soldOutMs: number | null = null;
    const end = () =>
      (soldOutMs !== null && Date.now() > soldOutMs + 1000) || Date.now() > startsMs + MAX_RUN_S * 1000;
    const sampling = sampleLoop('spike-a', tl, end);
    const cpu0 = cpuSeconds(pid);
    await sleep(Math.max(0, startsMs - 200 - Date.now()));
    await parallel(CONN, async (w) => {
      for (let i = 0; !end(); i++) {
        const u = (w + i * CONN) % CROWD;
        if (bought[u]) continue;
        if (first[u] === CROWD) first[u] = arrivals++;
        const a = await call(
          url,
          tl,
          'order.place',
          'mutation',
          { saleId: 'spike-a', quantity: 1, idempotencyKey: `spike-a-${u}` },
          cookies[u] as string,
        );
        if (a.status === 200) bought[u] = true;
        if (a.reason === 'SOLD_OUT') soldOutMs ??= Date.now();
      }
    });
    await sampling;
    await report('Run A (unqueued)', tl, startsMs, soldOutMs, cpu0, bought, first);
  }

  // --- The live.queue fan-out alone, then run B: queued (queued.ts).
  const ctx: SpikeContext = {
    url,
    pid,
    cookies,
    crowd: CROWD,
    stock: STOCK,
    conn: CONN,
    rate: RATE,
    followers: Math.min(FOLLOWERS, CROWD),
    followerProcesses: FOLLOWER_PROCESSES,
    maxRunS: MAX_RUN_S,
    redisPid: await redisPid(),
    createSale,
    sampleLoop,
    report,
  };
  if (runs('fanout')) await fanOut(ctx);
  if (runs('b')) await runB(ctx);
} finally {
  await stop();
}

/** The shared Redis's process id when it runs on this machine (its CPU is then measured), else null. */
async function redisPid(): Promise<number | null> {
  const redis = testRedis(SHARED.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    return Number.isFinite(pid) && pid > 0 && cpuSeconds(pid) >= 0 ? pid : null;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

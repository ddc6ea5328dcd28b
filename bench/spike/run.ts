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
import { guestCookies, percentiles } from '../load.ts';
import { cpuSeconds, peakRss } from '../probes.ts';
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
    // body, same client and connections), before and after the orders.
    const floorInput = (u: number, i: number) => ({
      saleId: 'cost-acc',
      quantity: 1,
      idempotencyKey: `spike-fl-${u}-${i}`,
    });
    const kinds: [string, string, (u: number, i: number) => unknown][] = [
      ['floor', 'floor', floorInput],
      [
        'accepted',
        'accepted',
        (u, i) => ({ saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-acc-${u}-${i}` }),
      ],
      [
        'NOT_ADMITTED',
        'NOT_ADMITTED',
        (u, i) => ({ saleId: 'cost-queued', quantity: 1, idempotencyKey: `spike-na-${u}-${i}` }),
      ],
      [
        'SOLD_OUT',
        'SOLD_OUT',
        (u, i) => ({ saleId: 'cost-sold', quantity: 1, idempotencyKey: `spike-so-${u}-${i}` }),
      ],
      ['replay', 'replay', (u) => ({ saleId: 'cost-acc', quantity: 1, idempotencyKey: `spike-replay-${u}` })],
      ['floor again', 'floor', floorInput],
    ];
    const cost = new Map<string, { perS: number; cpuUs: number; share: number }>();
    for (const [name, label, input] of kinds) {
      const tl = new Timeline();
      const until = Date.now() + PHASE_S * 1000;
      const cpu0 = cpuSeconds(pid);
      await parallel(CONN, async (w) => {
        for (let i = 0; Date.now() < until; i++) {
          const u = name === 'replay' ? (w + i * CONN) % replayUsers : (w + i * CONN) % CROWD;
          if (label === 'floor') await bare(url, tl, input(u, i), cookies[u] as string);
          else await call(url, tl, 'order.place', 'mutation', input(u, i), cookies[u] as string);
        }
      });
      const cpu = cpuSeconds(pid) - cpu0;
      const total = [...tl.totals().values()].reduce((a, b) => a + b, 0);
      cost.set(name, {
        perS: total / PHASE_S,
        cpuUs: (cpu * 1e6) / total,
        share: (tl.totals().get(label) ?? 0) / total,
      });
    }
    const accUs = cost.get('accepted')?.cpuUs ?? 1;
    // The reference of "above the floor": the warm floor, measured after every kind (the server
    // has then answered as many requests as it ever will in this phase). The cold one, before the
    // kinds, is printed beside it; their difference is a measure of this phase's noise.
    const coldUs = cost.get('floor')?.cpuUs ?? Number.NaN;
    const warmUs = cost.get('floor again')?.cpuUs ?? Number.NaN;
    const note: Record<string, string> = {
      floor: 'cold: before the orders',
      'floor again': 'warm: after them; the reference of "above the floor"',
    };
    console.log('\nserver CPU per order.place answer, by kind (one kind at a time):');
    for (const [name, c] of cost)
      console.log(
        `  ${name.padEnd(13)} ${c.cpuUs.toFixed(0).padStart(5)} µs  ×${(c.cpuUs / accUs).toFixed(2)} of accepted  ${note[name] ? `(${note[name]})  ` : `${(c.cpuUs - warmUs).toFixed(0).padStart(4)} µs above the warm floor (×${(c.cpuUs / warmUs).toFixed(2)})  `}${c.perS.toFixed(0)} answers/s  (${(c.share * 100).toFixed(0)} % of that kind)`,
      );
    console.log(
      `  the floor: POST /healthz with an order's headers and body (the same client and connections), answered without reading them: ${coldUs.toFixed(0)} µs before the orders (cold, ×${(coldUs / accUs).toFixed(2)} of accepted), ${warmUs.toFixed(0)} µs after them (warm, ×${(warmUs / accUs).toFixed(2)}); each kind is compared with the warm floor; the two floors differ by ${Math.abs(coldUs - warmUs).toFixed(0)} µs`,
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

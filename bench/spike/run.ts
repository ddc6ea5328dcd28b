/**
 * `npm run bench:spike` (issue 9 §5): a flash-sale spike against a built server in production
 * mode, unqueued (run A: the crowd hammers order.place) and queued (run B: the crowd joins the
 * waiting room before the start, then polls queue.get and buys once admitted). Prints time to
 * sold out, answers/s, latencies, server CPU per answer by kind, fairness, and writes a picture
 * of each run (docs/benchmarks/spike-*.svg). Per-user and per-IP limits are switched off (one
 * client address); the output says so.
 */
import { writeFileSync } from 'node:fs';
import { spawnApp } from '../../scripts/spawn-app.mjs';
import { TestClient } from '../../tests/support/client.ts';
import { ROOT } from '../../tests/support/paths.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from '../../tests/support/services.ts';
import { ADMIN_PASSWORD, serverEnv, workerEnv } from '../config.ts';
import { guestCookies, percentiles } from '../load.ts';
import { cpuSeconds, peakRss } from '../probes.ts';
import { timelineSvg } from './chart.ts';
import { call, parallel, Timeline } from './crowd.ts';

const num = (name: string, def: number) => {
  const v = Number(process.env[name] ?? def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const CROWD = num('BENCH_SPIKE_CROWD', 20_000);
const STOCK = num('BENCH_SPIKE_STOCK', 1000);
const CONN = num('BENCH_SPIKE_CONNECTIONS', 100);
const RATE = num('BENCH_SPIKE_RATE', 500);
const PHASE_S = num('BENCH_SPIKE_COST_S', 3);
const MAX_RUN_S = num('BENCH_SPIKE_MAX_RUN_S', 90);
/** Spearman's ρ with ties given their average rank (here: arrival order against bought 1/0). */
function rankCorrelation(xs: number[], ys: number[]): number {
  const midranks = (v: number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j < idx.length && idx[j]?.[0] === idx[i]?.[0]) j++;
      for (let k = i; k < j; k++) r[idx[k]?.[1] as number] = (i + j - 1) / 2;
      i = j;
    }
    return r;
  };
  const a = midranks(xs);
  const b = midranks(ys);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    num += x * y;
    da += x * x;
    db2 += y * y;
  }
  return da === 0 || db2 === 0 ? 0 : num / Math.sqrt(da * db2);
}
function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const db = await createTestDatabase();
const ns = newNamespace();
const server = await spawnApp({ app: 'server', port: 'free', env: serverEnv(db, ns), waitReady: false });
const worker = await spawnApp({
  app: 'worker',
  port: 'free',
  env: { ...workerEnv(db, ns, 'spike-w1'), PAYMENT_FAILURE_RATE: '0' },
  waitReady: false,
});
const stop = async () => {
  await Promise.allSettled([server.stop(), worker.stop()]);
  await cleanupNamespace(ns);
  await db.drop().catch(() => undefined);
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

try {
  await Promise.all([server.ready(), worker.ready()]);
  const url = server.url;
  const pid = server.pid as number;
  console.log(`bench:spike — crowd ${CROWD}, stock ${STOCK}, perUserLimit 1, ${CONN} connections`);
  console.log(
    'limits: RATE_LIMIT_PER_USER=0 and RATE_LIMIT_PER_IP=0 (per-IP limits switched off: one client address)',
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
  const kinds: [string, string, (u: number, i: number) => unknown][] = [
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
  ];
  const cost = new Map<string, { perS: number; cpuUs: number; share: number }>();
  for (const [name, label, input] of kinds) {
    const tl = new Timeline();
    const until = Date.now() + PHASE_S * 1000;
    const cpu0 = cpuSeconds(pid);
    await parallel(CONN, async (w) => {
      for (let i = 0; Date.now() < until; i++) {
        const u = name === 'replay' ? (w + i * CONN) % replayUsers : (w + i * CONN) % CROWD;
        await call(url, tl, 'order.place', 'mutation', input(u, i), cookies[u] as string);
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
  console.log('\nserver CPU per order.place answer, by kind (one kind at a time):');
  for (const [name, c] of cost)
    console.log(
      `  ${name.padEnd(13)} ${c.cpuUs.toFixed(0).padStart(5)} µs  ×${(c.cpuUs / accUs).toFixed(2)} of accepted  ${c.perS.toFixed(0)} answers/s  (${(c.share * 100).toFixed(0)} % of that kind)`,
    );

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
  {
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

  // --- Run B: queued; everyone joins before the start, then polls queue.get and buys when admitted.
  {
    const joinWindowMs = Math.max(2000, CROWD / 2);
    const startsMs = Date.now() + joinWindowMs + 500;
    await createSale({
      id: 'spike-b',
      totalStock: STOCK,
      perUserLimit: 1,
      startsAt: new Date(startsMs).toISOString(),
      queue: { admitPerSecond: RATE },
    });
    const tl = new Timeline();
    const bought = new Array<boolean>(CROWD).fill(false);
    const joinOrder = new Array<number>(CROWD).fill(CROWD);
    const doneUser = new Array<boolean>(CROWD).fill(false);
    let joins = 0;
    let soldOutMs: number | null = null;
    const end = () =>
      (soldOutMs !== null && Date.now() > soldOutMs + 1000) || Date.now() > startsMs + MAX_RUN_S * 1000;
    const sampling = sampleLoop('spike-b', tl, end);
    const cpu0 = cpuSeconds(pid);
    await parallel(CONN, async (w) => {
      for (let u = w; u < CROWD; u += CONN) {
        const a = await call(url, tl, 'queue.join', 'mutation', { saleId: 'spike-b' }, cookies[u] as string);
        if (a.status === 200) joinOrder[u] = joins++;
      }
    });
    console.log(
      `\nRun B: ${joins} joined in ${((Date.now() - tl.t0) / 1000).toFixed(1)} s, ${((startsMs - Date.now()) / 1000).toFixed(1)} s before the start; admitPerSecond ${RATE}`,
    );
    await parallel(CONN, async (w) => {
      // Each connection polls its shoppers in a random order: the bench's own polling order
      // must not correlate with the join order (that would be the bench's bias, not the room's).
      const mine = shuffled(Array.from({ length: Math.ceil((CROWD - w) / CONN) }, (_, i) => w + i * CONN));
      while (!end()) {
        let pending = 0;
        for (const u of mine) {
          if (end()) break;
          if (doneUser[u]) continue;
          pending++;
          const t = await call(url, tl, 'queue.get', 'query', { saleId: 'spike-b' }, cookies[u] as string);
          if (t.data?.state === 'admitted') {
            const a = await call(
              url,
              tl,
              'order.place',
              'mutation',
              {
                saleId: 'spike-b',
                quantity: 1,
                idempotencyKey: `spike-b-${u}`,
                admissionToken: t.data.admissionToken,
              },
              cookies[u] as string,
            );
            if (a.status === 200) bought[u] = true;
            if (a.reason === 'SOLD_OUT') soldOutMs ??= Date.now();
            doneUser[u] = a.status === 200 || a.reason === 'SOLD_OUT' || a.reason === 'USER_LIMIT';
          } else if (t.data?.state === 'soldout') soldOutMs ??= Date.now();
        }
        if (pending === 0) break;
      }
    });
    await sampling;
    await report('Run B (queued)', tl, startsMs, soldOutMs, cpu0, bought, joinOrder);
  }
} finally {
  await stop();
}

/**
 * `npm run bench:worker-ab`: the worker's variants side by side, interleaved, in ONE isolated run
 * (one server, one database) so the machine's changing load hits every variant alike. Each round,
 * for each variant: a backlog (BENCH_BACKLOG_S of load, no worker), then the variant's workers
 * drain it (persisted orders/s, worker CPU per order, batches), then the same load again with
 * those workers alongside (accepted/s ÷ the backlog's, the "server + worker ÷ server alone"
 * figure), and a raw insert of BENCH_RAW_ROWS / 5 rows (the drain ÷ raw ratio of that round).
 * Variants: BENCH_AB_VARIANTS, JSON `{"name": {"ENV": "value", "WORKERS": "2", "SCRIPT": "x.js"}, …}`
 * (SCRIPT: another build of the worker, e.g. an older commit's bundled with scripts/bundle.mjs;
 * SQL: statements run on the run's database before the variant's backlog, e.g. another index or
 * fillfactor of `orders` — it stays until the next variant's SQL changes it). Each variant's line
 * also gives the share of its orders row updates that were HOT (pg_stat, read once its workers
 * have exited).
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { waitForQuiet } from '../tests/support/checker/index.ts';
import { SHARED } from '../tests/support/services.ts';
import { CFG, num, text } from './config.ts';
import { runBenchMain, startRun } from './isolated-run.ts';
import { batchStats, cpuSeconds, hotUpdates } from './probes.ts';
import { rawInsert } from './raw-insert.ts';

/** CPU seconds of every process on the machine, by command name (what the drain costs the others). */
function cpuByCommand(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(comm, (out.get(comm) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const DEFAULT_VARIANTS = { c1: { WORKER_CONCURRENCY: '1' }, c2: { WORKER_CONCURRENCY: '2' } };

interface Sample {
  variant: string;
  drainPerS: number;
  rawPerS: number;
  cpuUsPerOrder: number;
  meanBatch: number;
  intakeAlone: number;
  intakeAlong: number;
  alongCpuUsPerOrder: number;
  alongMeanBatch: number;
}

async function main(): Promise<void> {
  const variants: Record<string, Record<string, string>> = text('BENCH_AB_VARIANTS')
    ? JSON.parse(text('BENCH_AB_VARIANTS'))
    : DEFAULT_VARIANTS;
  const rounds = num('BENCH_AB_ROUNDS', 3);
  const run = await startRun('trpc', 'worker A/B');
  const client = new pg.Client({ connectionString: run.db.url });
  await client.connect();
  const samples: Sample[] = [];
  const quiet = () =>
    waitForQuiet({
      ns: run.ns,
      saleId: CFG.saleId,
      redisUrl: SHARED.redis,
      natsUrl: SHARED.nats,
      timeoutMs: CFG.drainTimeoutS * 1000,
    });
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const [name, env] of Object.entries(variants)) {
        const { WORKERS = '1', SCRIPT, SQL, ...workerEnv } = env;
        if (SQL) await client.query(SQL);
        const upd0 = await hotUpdates(client, 'orders');
        process.stdout.write(`round ${r} ${name}: backlog… `);
        const alone = await run.measureIntake(CFG.backlogS, {
          label: 'no worker',
          warmup: false,
          keyPrefix: `r${r}${name}b`,
          progress: 'load',
        });
        const ws = await run.startWorkers(Number(WORKERS), `${name}${r}-`, workerEnv, SCRIPT);
        const ready = Date.now();
        const cpu0 = ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0);
        process.stdout.write('drain… ');
        const procs0 = cpuByCommand();
        await quiet();
        const procs1 = cpuByCommand();
        const drainCpu = ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0) - cpu0;
        const drainBatches = await batchStats(ws);
        // Only this step's rows: created before the workers were ready, final after.
        const { rows: stepRows } = await client.query<{ n: number; last: number }>(
          `SELECT count(*)::int AS n, extract(epoch FROM max(updated_at))::float8 * 1000 AS last
           FROM orders WHERE sale_id = $1 AND updated_at >= to_timestamp($2::float8 / 1000)`,
          [CFG.saleId, ready],
        );
        const n = stepRows[0]?.n ?? 0;
        const drainPerS = n / (((stepRows[0]?.last ?? ready) - ready) / 1000);
        const shares = [...procs1]
          .map(([c, v]) => [c, v - (procs0.get(c) ?? 0)] as const)
          .filter(([, v]) => v > 0.05)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([c, v]) => `${c} ${((v * 1e6) / n).toFixed(0)}`);
        process.stdout.write(`(CPU µs/order during the drain: ${shares.join(', ')}) `);
        process.stdout.write('alongside… ');
        const cpu1 = ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0);
        const alongStart = Date.now();
        const along = await run.measureIntake(CFG.backlogS, {
          label: 'alongside',
          warmup: false,
          keyPrefix: `r${r}${name}a`,
          progress: 'load',
        });
        await quiet();
        const alongCpu = ws.reduce((s, w) => s + cpuSeconds(w.pid ?? 0), 0) - cpu1;
        const { rows: alongRows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM orders WHERE sale_id = $1 AND created_at >= to_timestamp($2::float8 / 1000)`,
          [CFG.saleId, alongStart],
        );
        const all = await batchStats(ws);
        await Promise.all(ws.map((w) => w.stop()));
        const upd1 = await hotUpdates(client, 'orders');
        const updates = upd1.updates - upd0.updates;
        process.stdout.write(
          `(HOT ${upd1.hot - upd0.hot} of ${updates} row updates, ${((100 * (upd1.hot - upd0.hot)) / Math.max(1, updates)).toFixed(1)} %) `,
        );
        process.stdout.write('raw… ');
        const raw = await rawInsert(client, CFG.saleId, Math.round(CFG.rawRows / 5), CFG.rawBatch);
        const alongBatches =
          all && drainBatches
            ? {
                count: all.batches - drainBatches.batches,
                size:
                  (all.meanSize * all.batches - drainBatches.meanSize * drainBatches.batches) /
                  (all.batches - drainBatches.batches),
              }
            : null;
        const s: Sample = {
          variant: name,
          drainPerS,
          rawPerS: raw.perS,
          cpuUsPerOrder: (drainCpu * 1e6) / n,
          meanBatch: drainBatches?.meanSize ?? Number.NaN,
          intakeAlone: alone.accepted / alone.durationS,
          intakeAlong: along.accepted / along.durationS,
          alongCpuUsPerOrder: (alongCpu * 1e6) / (alongRows[0]?.n ?? 1),
          alongMeanBatch: alongBatches?.size ?? Number.NaN,
        };
        samples.push(s);
        console.log(
          `drained ${n} at ${s.drainPerS.toFixed(0)}/s (raw ${s.rawPerS.toFixed(0)}/s, ÷ ${(s.drainPerS / s.rawPerS).toFixed(2)}), ` +
            `${s.cpuUsPerOrder.toFixed(0)} µs/order, batch ${s.meanBatch.toFixed(1)}; ` +
            `intake alone ${s.intakeAlone.toFixed(0)}/s, alongside ${s.intakeAlong.toFixed(0)}/s (÷ ${(s.intakeAlong / s.intakeAlone).toFixed(2)}), ` +
            `${s.alongCpuUsPerOrder.toFixed(0)} µs/order, batch ${s.alongMeanBatch.toFixed(1)}`,
        );
      }
    }
  } finally {
    await client.end();
    await run.done();
  }
  const med = (xs: number[]) => {
    const a = [...xs].sort((x, y) => x - y);
    return a[Math.floor(a.length / 2)] ?? Number.NaN;
  };
  const fmt = (xs: number[], d = 0) =>
    `${med(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log('\nmedian (range) per variant:');
  for (const name of Object.keys(variants)) {
    const v = samples.filter((s) => s.variant === name);
    console.log(
      `  ${name}: drain ${fmt(v.map((s) => s.drainPerS))}/s; ÷ raw ${fmt(
        v.map((s) => s.drainPerS / s.rawPerS),
        2,
      )}; µs/order ${fmt(v.map((s) => s.cpuUsPerOrder))}; alongside ÷ alone ${fmt(
        v.map((s) => s.intakeAlong / s.intakeAlone),
        2,
      )}; alongside µs/order ${fmt(v.map((s) => s.alongCpuUsPerOrder))}, batch ${fmt(
        v.map((s) => s.alongMeanBatch),
        1,
      )}`,
    );
  }
}

await runBenchMain(main);

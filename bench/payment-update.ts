/**
 * `npm run bench:payment-update`: the worker's two PostgreSQL statements per batch — persistOrders
 * (insert PENDING) then decidePayments (the conditional UPDATE) — alone, on one connection, for
 * several shapes of the `orders` table, interleaved in rounds on ONE scratch database so that the
 * machine's changing load hits every shape alike. Per shape: rows/s, the PostgreSQL backend's CPU
 * per row (its /proc/<pid>/stat), and the share of the payment UPDATEs that were HOT
 * (pg_stat n_tup_hot_upd ÷ n_tup_upd). Shapes: BENCH_PU_SHAPES, JSON
 * `{"name": {"fillfactor": 100, "index": "sale_status" | "sale" | "none"}, …}`.
 */
import { readFileSync } from 'node:fs';
import type { OrderMessage } from '@surge/contracts';
import pg from 'pg';
import { decidePayments, persistOrders } from '../apps/worker/src/persist-orders.ts';
import { createTestDatabase } from '../tests/support/services.ts';
import { num, text } from './config.ts';

type IndexShape = 'sale_status' | 'sale' | 'none';
interface Shape {
  fillfactor: number;
  index: IndexShape;
}

const DEFAULT_SHAPES: Record<string, Shape> = {
  'main (sale,status) ff100': { fillfactor: 100, index: 'sale_status' },
  '(sale) ff100': { fillfactor: 100, index: 'sale' },
  '(sale) ff90': { fillfactor: 90, index: 'sale' },
  '(sale) ff70': { fillfactor: 70, index: 'sale' },
  '(sale) ff50': { fillfactor: 50, index: 'sale' },
};

const ROWS = num('BENCH_PU_ROWS', 20_000);
const BATCH = num('BENCH_PU_BATCH', 100);
const ROUNDS = num('BENCH_PU_ROUNDS', 2);
const FAILURE_RATE = 0.1;

function backendCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function shapeTable(c: pg.Client, s: Shape): Promise<void> {
  await c.query('TRUNCATE orders');
  await c.query('DROP INDEX IF EXISTS orders_sale_id_status_idx');
  await c.query('DROP INDEX IF EXISTS orders_sale_id_idx');
  if (s.index === 'sale_status')
    await c.query('CREATE INDEX orders_sale_id_status_idx ON orders (sale_id, status)');
  if (s.index === 'sale') await c.query('CREATE INDEX orders_sale_id_idx ON orders (sale_id)');
  await c.query(`ALTER TABLE orders SET (fillfactor = ${s.fillfactor})`);
}

interface Sample {
  shape: string;
  perS: number;
  cpuUsPerRow: number;
  hot: number;
  upd: number;
  pages: number;
}

async function runShape(
  url: string,
  admin: pg.Client,
  name: string,
  s: Shape,
  round: number,
): Promise<Sample> {
  await shapeTable(admin, s);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
  const cpu0 = backendCpuS(pid);
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < ROWS; done += BATCH) {
    const msgs: OrderMessage[] = [];
    for (let j = 0; j < Math.min(BATCH, ROWS - done); j++) {
      const i = done + j;
      const id = crypto.randomUUID();
      msgs.push({
        orderId: id,
        saleId: 'pu',
        userId: `u_${round}_${i % 2000}`,
        quantity: 1,
        idempotencyKey: crypto.randomUUID(),
        epoch: 1,
        correlationId: crypto.randomUUID(),
        reservedAt: new Date().toISOString(),
      });
    }
    const r = await persistOrders(c, msgs);
    if (r.inserted.size !== msgs.length) throw new Error(`inserted ${r.inserted.size} of ${msgs.length}`);
    await decidePayments(
      c,
      msgs.map((m, j) =>
        (done + j) % Math.round(1 / FAILURE_RATE) === 0
          ? { orderId: m.orderId, status: 'FAILED_PAYMENT' as const, reason: 'card declined (simulated)' }
          : { orderId: m.orderId, status: 'CONFIRMED' as const, reason: null },
      ),
    );
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = backendCpuS(pid) - cpu0;
  await c.end();
  // A backend flushes its table counters when it exits: wait until they show every UPDATE.
  let hot = 0;
  let upd = 0;
  for (let i = 0; i < 100; i++) {
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const row = (
      await admin.query<{ upd: string; hot: string }>(
        `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'orders'`,
      )
    ).rows[0];
    upd = Number(row?.upd);
    hot = Number(row?.hot);
    if (upd >= ROWS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const pages = Number(
    (await admin.query<{ p: string }>(`SELECT pg_relation_size('orders') / 8192 AS p`)).rows[0]?.p,
  );
  await admin.query("SELECT pg_stat_reset_single_table_counters('orders'::regclass)");
  return { shape: name, perS: ROWS / seconds, cpuUsPerRow: (cpu / ROWS) * 1e6, hot, upd, pages };
}

async function main(): Promise<void> {
  const shapes: Record<string, Shape> = text('BENCH_PU_SHAPES')
    ? JSON.parse(text('BENCH_PU_SHAPES'))
    : DEFAULT_SHAPES;
  const db = await createTestDatabase();
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query(
      `INSERT INTO sales (id, name, price_cents, total_stock, per_user_limit, starts_at, ends_at, epoch, updated_at)
       VALUES ('pu', 'pu', 100, 100000000, 100, now(), now() + interval '1 day', 1, now())`,
    );
    await admin.query(`SELECT pg_stat_reset_single_table_counters('orders'::regclass)`);
    const samples: Sample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, s] of Object.entries(shapes)) {
        const sample = await runShape(db.url, admin, name, s, round);
        samples.push(sample);
        console.log(
          `round ${round + 1} ${name.padEnd(26)} ${sample.perS.toFixed(0).padStart(6)} rows/s  ` +
            `${sample.cpuUsPerRow.toFixed(1).padStart(6)} µs pg CPU/row  HOT ${sample.hot}/${sample.upd} ` +
            `(${((100 * sample.hot) / Math.max(1, sample.upd)).toFixed(1)} %)  ${sample.pages} pages`,
        );
      }
    }
    console.log(`\n${ROWS} rows per run, batches of ${BATCH}, one connection, ${ROUNDS} rounds; medians:`);
    for (const name of Object.keys(shapes)) {
      const mine = samples.filter((x) => x.shape === name);
      const med = (f: (x: Sample) => number) => {
        const v = mine.map(f).sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)] as number;
      };
      console.log(
        `${name.padEnd(26)} ${med((x) => x.perS)
          .toFixed(0)
          .padStart(6)} rows/s  ` +
          `${med((x) => x.cpuUsPerRow)
            .toFixed(1)
            .padStart(6)} µs pg CPU/row  ` +
          `HOT ${(100 * med((x) => x.hot / Math.max(1, x.upd))).toFixed(1)} %  ${med((x) => x.pages)} pages`,
      );
    }
  } finally {
    await admin.end();
    await db.drop();
  }
}

await main();

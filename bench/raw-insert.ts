/**
 * How fast PostgreSQL takes the worker's rows with nothing else going on: the ceiling the
 * persisted orders/s of the bench are compared with.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CFG } from './config.ts';

export interface RawResult {
  rows: number;
  seconds: number;
  perS: number;
}

/**
 * The raw insert baseline: `rows` rows into a scratch copy of `orders` (same columns, defaults,
 * primary key, indexes, unique constraint and foreign key to `sales`) in batches of `batch`, one
 * `INSERT … SELECT FROM unnest(…)` per batch (the worker's statement, without ON CONFLICT),
 * autocommit, one connection. Returns rows/s over the loop.
 */
export async function rawInsert(
  client: pg.Client,
  saleId: string,
  rows: number,
  batch: number,
): Promise<RawResult> {
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

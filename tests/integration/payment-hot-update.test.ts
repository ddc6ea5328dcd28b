import { randomUUID } from 'node:crypto';
import type { OrderMessage } from '@surge/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidePayments, persistOrders } from '../../apps/worker/src/persist-orders.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

/**
 * docs/architecture.md#the-workers-batch: the payment UPDATE of a batch the worker has just
 * inserted is a HOT update — no index of `orders` contains a column it sets, and the table's
 * fillfactor leaves room for the new versions on the same pages. Each batch's two statements run
 * in their own transactions as the worker's do, on a database the migrations built.
 */
describe('payment UPDATE is a HOT update', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      `INSERT INTO sales (id, name, price_cents, total_stock, per_user_limit, starts_at, ends_at, epoch, updated_at)
       VALUES ('hot', 'hot', 100, 100000, 100, now(), now() + interval '1 hour', 1, now())`,
    );
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  /** The table's update counters, flushed first (this session's own pending ones included). */
  async function updates(): Promise<{ upd: number; hot: number }> {
    // PostgreSQL 15: the flush happens when the session goes idle after this statement.
    await client.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await client.query<{ upd: string; hot: string }>(
      `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'orders'`,
    );
    return { upd: Number(rows[0]?.upd), hot: Number(rows[0]?.hot) };
  }

  it('the rows of three batches of 100 (confirmed and declined) are updated in place (≥ 95 %)', async () => {
    const before = await updates();
    const batches = 3;
    const size = 100;
    for (let b = 0; b < batches; b++) {
      const msgs: OrderMessage[] = Array.from({ length: size }, (_, i) => ({
        orderId: randomUUID(),
        saleId: 'hot',
        userId: `u${i % 37}`,
        quantity: 1,
        idempotencyKey: randomUUID(),
        epoch: 1,
        correlationId: randomUUID(),
        reservedAt: new Date().toISOString(),
      }));
      const r = await persistOrders(client, msgs);
      expect(r.inserted.size).toBe(size);
      const stored = await decidePayments(
        client,
        msgs.map((m, i) =>
          i % 10 === 0
            ? { orderId: m.orderId, status: 'FAILED_PAYMENT' as const, reason: 'card declined (simulated)' }
            : { orderId: m.orderId, status: 'CONFIRMED' as const, reason: null },
        ),
      );
      expect(stored.size).toBe(size);
    }
    const after = await updates();
    expect(after.upd - before.upd).toBe(batches * size);
    // All of them in every run so far (0 with a status index or full pages); a row whose page
    // happens to be short of room may go elsewhere, which is no fault.
    expect(after.hot - before.hot).toBeGreaterThanOrEqual(0.95 * batches * size);
  });
});

import type { OrderMessage } from '@surge/contracts';
import { createSqlPool } from '@surge/db';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persistOrders } from '../../apps/worker/src/persist-orders.ts';
import { createTestDatabase, eventually, type TestDatabase } from '../support/services.ts';

/**
 * docs/architecture.md#the-workers-batch, step 3: the persist step is one statement per batch.
 * What one statement's snapshot cannot see and a transaction of several statements could: a row
 * another delivery commits while the statement waits on it (the same order persisted twice at
 * once) is a redelivery, never a key conflict; a rebuild that advances the epoch while the
 * statement waits for the sale row makes the batch stale; a crash before the statement leaves
 * no row.
 */
describe('persist statement', () => {
  let db: TestDatabase;
  let sql: ReturnType<typeof createSqlPool>;
  let other: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createSqlPool(db.url);
    other = new pg.Client({ connectionString: db.url });
    await other.connect();
    await other.query(
      `INSERT INTO sales (id, name, price_cents, total_stock, per_user_limit, starts_at, ends_at, epoch, updated_at)
       VALUES ('ps', 'ps', 100, 100, 5, now(), now() + interval '1 hour', 1, now())`,
    );
  });
  afterAll(async () => {
    await other.end();
    await sql.end();
    await db.drop();
  });

  const message = (orderId: string, userId: string, epoch = 1): OrderMessage => ({
    orderId,
    saleId: 'ps',
    userId,
    quantity: 1,
    idempotencyKey: `key-${orderId}`,
    epoch,
    correlationId: `corr-${orderId}`,
    reservedAt: new Date().toISOString(),
  });

  /** How many sessions of the test database wait on a lock. */
  async function blockedSessions(): Promise<number> {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0]?.n ?? 0;
    } finally {
      await c.end();
    }
  }

  it('a row another transaction commits while the statement waits on it is a redelivery, not a key conflict', async () => {
    await other.query('BEGIN');
    await other.query(
      `INSERT INTO orders (id, sale_id, user_id, quantity, idempotency_key, correlation_id, epoch, updated_at)
       VALUES ('race-1', 'ps', 'u1', 1, 'key-race-1', 'corr-race-1', 1, now())`,
    );
    const persisting = persistOrders(sql, [message('race-1', 'u1'), message('fresh-1', 'u2')]);
    await eventually(async () => (await blockedSessions()) > 0, 10_000);
    await other.query('COMMIT');
    const r = await persisting;
    expect([...r.inserted]).toEqual(['fresh-1']);
    expect(r.existing.get('race-1')).toEqual({ status: 'PENDING', replayGen: 0 });
    expect(r.keyConflict.size).toBe(0);
  });

  it('the key of another order id is a key conflict, with no row', async () => {
    const r = await persistOrders(sql, [{ ...message('thief-1', 'u1'), idempotencyKey: 'key-race-1' }]);
    expect([...r.keyConflict]).toEqual(['thief-1']);
    const { rows } = await other.query(`SELECT 1 FROM orders WHERE id = 'thief-1'`);
    expect(rows).toHaveLength(0);
  });

  it('a rebuild that advances the epoch while the statement waits for the sale row makes its messages stale', async () => {
    await other.query('BEGIN');
    await other.query(`SELECT id FROM sales WHERE id = 'ps' FOR UPDATE`);
    await other.query(`UPDATE sales SET epoch = epoch + 1 WHERE id = 'ps'`);
    const persisting = persistOrders(sql, [message('late-1', 'u3', 1)]);
    await eventually(async () => (await blockedSessions()) > 0, 10_000);
    await other.query('COMMIT');
    const r = await persisting;
    expect([...r.staleEpoch]).toEqual(['late-1']);
    const { rows } = await other.query(`SELECT 1 FROM orders WHERE id = 'late-1'`);
    expect(rows).toHaveLength(0);
  });

  it('the crash hook runs before the statement is sent: a crash there leaves no row', async () => {
    const crash = new Error('crash');
    await expect(
      persistOrders(sql, [message('crash-1', 'u4', 2)], {
        beforeCommit: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const { rows } = await other.query(`SELECT 1 FROM orders WHERE id = 'crash-1'`);
    expect(rows).toHaveLength(0);
  });
});

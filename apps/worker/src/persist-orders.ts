import type { OrderMessage } from '@surge/contracts';
import type { PrismaClient, Sql } from '@surge/db';

/**
 * The batch's persist step, the PostgreSQL half (docs/architecture.md#the-epoch-fence): ONE
 * statement per batch (its own transaction, one round trip) that holds each sale row FOR SHARE
 * until it commits (an admin write or a rebuild — FOR UPDATE — waits, and so does this), judges
 * every message against its sale's epoch, inserts the fresh ones PENDING with ON CONFLICT DO
 * NOTHING, revives a FAILED row for its current replay generation, and reads back the rows that
 * already existed. Existing rows are ignored (a redelivery); the unique (sale, user, key) is the
 * last guard.
 */
export interface PersistResult {
  /** Rows this batch inserted. */
  inserted: Set<string>;
  /** Rows that already existed under the same id (redelivery): id → status, replayGen. */
  existing: Map<string, { status: string; replayGen: number }>;
  /**
   * Messages of an epoch older than their sale's: never inserted by this statement (the epoch
   * fence); process-batch.ts gives a FAILED row to those whose reservation Redis still held.
   */
  staleEpoch: Set<string>;
  /**
   * Messages without a reservation record whose epoch is newer than their sale's: no server
   * ever reserved them (an epoch only grows in PostgreSQL first) — a forgery (README.md#security).
   */
  forgedEpoch: Set<string>;
  /** The key was taken by another order id: Redis lost data silently (alarm). */
  keyConflict: Set<string>;
}

/** One message's fate in the persist statement. */
interface PersistRow {
  id: string;
  verdict: 'stale' | 'forged' | 'fresh';
  inserted: boolean;
  /** The row under this id as the statement found it (null: none visible), after a revival. */
  status: string | null;
  replayGen: number | null;
}

export async function persistOrders(
  sql: Sql,
  orders: OrderMessage[],
  hooks: {
    /**
     * Called right before the statement is sent (the test-only crash hook): the statement is
     * its own transaction, so this is the last moment before its commit — a crash here leaves
     * no row.
     */
    beforeCommit?: () => void;
    replayGenOf?: (orderId: string) => number;
    /** The claim found no reservation record (Redis lost it, or none was ever made). */
    recordless?: (orderId: string) => boolean;
  } = {},
): Promise<PersistResult> {
  const result: PersistResult = {
    inserted: new Set(),
    existing: new Map(),
    staleEpoch: new Set(),
    forgedEpoch: new Set(),
    keyConflict: new Set(),
  };
  if (orders.length === 0) return result;
  hooks.beforeCommit?.();
  let rows = await persistStatement(sql, orders, hooks);
  // A row another transaction committed while this statement waited on it (ON CONFLICT) is not
  // in the statement's snapshot: such ids are judged again by a second statement, which sees it.
  // What is still missing then is a key taken by another order id.
  const unseen = new Set(rows.filter(isUnseen).map((r) => r.id));
  if (unseen.size > 0) {
    const again = await persistStatement(
      sql,
      orders.filter((o) => unseen.has(o.orderId)),
      hooks,
    );
    rows = [...rows.filter((r) => !unseen.has(r.id)), ...again];
  }
  for (const r of rows) {
    if (r.verdict === 'stale') result.staleEpoch.add(r.id);
    else if (r.verdict === 'forged') result.forgedEpoch.add(r.id);
    else if (r.inserted) result.inserted.add(r.id);
    else if (r.status !== null) result.existing.set(r.id, { status: r.status, replayGen: r.replayGen ?? 0 });
  }
  for (const r of rows) {
    if (isUnseen(r) && !result.inserted.has(r.id) && !result.existing.has(r.id)) result.keyConflict.add(r.id);
  }
  return result;
}

function isUnseen(r: PersistRow): boolean {
  return r.verdict === 'fresh' && !r.inserted && r.status === null;
}

/**
 * The statement. `sale` locks the batch's sale rows FOR SHARE (in id order) and reads their
 * epochs; `msg` judges each message: older than its sale's epoch → stale (the epoch fence); no
 * record and not exactly the sale's epoch → forged; else fresh. `ins` inserts the fresh ones in
 * message order; `revived` moves a FAILED row back to PENDING only for a message of the row's
 * current replay generation (admin.dlq.replay). The final SELECT reads the rows that existed
 * before the statement (its snapshot: the rows `ins` wrote are not in it, which is what tells a
 * redelivery from a new row).
 */
async function persistStatement(
  sql: Sql,
  orders: OrderMessage[],
  hooks: { replayGenOf?: (orderId: string) => number; recordless?: (orderId: string) => boolean },
): Promise<PersistRow[]> {
  const n = orders.length;
  const ids = new Array<string>(n);
  const sales = new Array<string>(n);
  const users = new Array<string>(n);
  const quantities = new Array<number>(n);
  const keys = new Array<string>(n);
  const corrs = new Array<string>(n);
  const epochs = new Array<number>(n);
  const created = new Array<string>(n);
  const recordless = new Array<boolean>(n);
  const gens = new Array<number>(n);
  const saleIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = orders[i] as OrderMessage;
    ids[i] = o.orderId;
    sales[i] = o.saleId;
    if (!saleIds.includes(o.saleId)) saleIds.push(o.saleId);
    users[i] = o.userId;
    quantities[i] = o.quantity;
    keys[i] = o.idempotencyKey;
    corrs[i] = o.correlationId;
    epochs[i] = o.epoch;
    created[i] = validDate(o.reservedAt);
    recordless[i] = hooks.recordless?.(o.orderId) ?? false;
    gens[i] = hooks.replayGenOf?.(o.orderId) ?? 0;
  }
  const { rows } = await sql.query<PersistRow>({
    name: 'surge-persist-orders',
    text: PERSIST_SQL,
    values: [saleIds, ids, sales, users, quantities, keys, corrs, epochs, created, recordless, gens],
  });
  return rows;
}

/** The statement (see persistStatement), a named statement: parsed once per connection. */
const PERSIST_SQL = `
    WITH sale AS MATERIALIZED (
      SELECT id, epoch FROM sales WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE
    ),
    msg AS MATERIALIZED (
      SELECT v.*,
        CASE WHEN s.epoch IS NOT NULL AND v.epoch < s.epoch THEN 'stale'
             WHEN v.recordless AND (s.epoch IS NULL OR v.epoch <> s.epoch) THEN 'forged'
             ELSE 'fresh' END AS verdict
      FROM unnest(
        $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::int[],
        $9::timestamptz[], $10::boolean[], $11::int[]
      ) WITH ORDINALITY AS v(id, sale_id, user_id, quantity, key, corr, epoch, created, recordless, gen, n)
      LEFT JOIN sale s ON s.id = v.sale_id
    ),
    ins AS (
      INSERT INTO orders (id, sale_id, user_id, quantity, idempotency_key, status, correlation_id, epoch, created_at, updated_at)
      SELECT id, sale_id, user_id, quantity, key, 'PENDING', corr, epoch, created, now()
      FROM msg WHERE verdict = 'fresh' ORDER BY n
      ON CONFLICT DO NOTHING
      RETURNING id
    ),
    revived AS (
      UPDATE orders AS o SET status = 'PENDING', failure_reason = NULL, updated_at = now()
      FROM msg
      WHERE msg.verdict = 'fresh' AND msg.gen > 0 AND o.id = msg.id
        AND o.status = 'FAILED' AND o.replay_gen = msg.gen
      RETURNING o.id
    )
    SELECT msg.id, msg.verdict,
      EXISTS (SELECT 1 FROM ins WHERE ins.id = msg.id) AS inserted,
      CASE WHEN EXISTS (SELECT 1 FROM revived WHERE revived.id = msg.id) THEN 'PENDING'
           ELSE o.status::text END AS status,
      o.replay_gen AS "replayGen"
    FROM msg LEFT JOIN orders o ON o.id = msg.id AND msg.verdict = 'fresh'
    ORDER BY msg.n`;

/**
 * The one insert of a FAILED row (docs/architecture.md#dead-letters-and-replay): an accepted order
 * whose row was never written but whose reservation was settled as failed (a dead letter), so the
 * shopper who was told "accepted" finds a final status. An existing row is left as it is.
 * Returns the stored status under the order's id — FAILED when inserted, the existing row's
 * otherwise — or null when there is no row because its (sale, user, key) belongs to another
 * order id (a key conflict: Redis lost data).
 */
export async function insertFailedOrder(
  db: Pick<PrismaClient, '$queryRaw'>,
  o: OrderMessage,
  reason: string,
): Promise<string | null> {
  const rows = await db.$queryRaw<{ status: string }[]>`
    WITH ins AS (
      INSERT INTO orders (id, sale_id, user_id, quantity, idempotency_key, status, failure_reason, correlation_id, epoch, created_at, updated_at)
      VALUES (${o.orderId}, ${o.saleId}, ${o.userId}, ${o.quantity}, ${o.idempotencyKey}, 'FAILED', ${reason.slice(0, 500)},
              ${o.correlationId}, ${o.epoch}, now(), now())
      ON CONFLICT DO NOTHING
      RETURNING status::text AS status
    )
    SELECT status FROM ins
    UNION ALL
    SELECT status::text FROM orders WHERE id = ${o.orderId} AND NOT EXISTS (SELECT 1 FROM ins)`;
  return rows[0]?.status ?? null;
}

function validDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? new Date().toISOString() : new Date(t).toISOString();
}

/**
 * docs/architecture.md#the-workers-batch, step 4: decide each order's payment with one
 * conditional update for the batch, so that only one delivery decides (`WHERE status =
 * 'PENDING'`); returns the *stored* status of every id. The rows it changed come back from the
 * UPDATE itself; only the ones another delivery decided first are read again.
 */
export async function decidePayments(
  sql: Sql,
  decisions: { orderId: string; status: 'CONFIRMED' | 'FAILED_PAYMENT'; reason: string | null }[],
): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  if (decisions.length === 0) return stored;
  const n = decisions.length;
  const ids = new Array<string>(n);
  const statuses = new Array<string>(n);
  const reasons = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const d = decisions[i] as (typeof decisions)[number];
    ids[i] = d.orderId;
    statuses[i] = d.status;
    reasons[i] = d.reason;
  }
  const { rows: updated } = await sql.query<{ id: string; status: string }>({
    name: 'surge-decide-payments',
    text: `
    UPDATE orders AS o
    SET status = v.status::"OrderStatus", failure_reason = v.reason, updated_at = now()
    FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, status, reason)
    WHERE o.id = v.id AND o.status = 'PENDING'
    RETURNING o.id, o.status::text AS status`,
    values: [ids, statuses, reasons],
  });
  for (const s of updated) stored.set(s.id, s.status);
  if (stored.size < n) {
    const rest = ids.filter((id) => !stored.has(id));
    const { rows: found } = await sql.query<{ id: string; status: string }>({
      name: 'surge-read-statuses',
      text: 'SELECT id, status::text AS status FROM orders WHERE id = ANY($1::text[])',
      values: [rest],
    });
    for (const f of found) stored.set(f.id, f.status);
  }
  return stored;
}

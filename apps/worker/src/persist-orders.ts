import type { OrderMessage } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';

/**
 * The batch's persist step, the PostgreSQL half (docs/architecture.md#the-epoch-fence): one
 * transaction per batch holding each sale row FOR SHARE (an admin write or a rebuild — FOR
 * UPDATE — waits, and so does this), dropping messages of an older epoch, inserting the rest
 * PENDING with one multi-row statement. Existing rows are ignored (a redelivery); the unique
 * (sale, user, key) is the last guard.
 */
export interface PersistResult {
  /** Rows this batch inserted. */
  inserted: Set<string>;
  /** Rows that already existed under the same id (redelivery): id → status, replayGen. */
  existing: Map<string, { status: string; replayGen: number }>;
  /** Messages of an epoch older than their sale's: never persisted (the epoch fence). */
  staleEpoch: Set<string>;
  /**
   * Messages without a reservation record whose epoch is newer than their sale's: no server
   * ever reserved them (an epoch only grows in PostgreSQL first) — a forgery (README.md#security).
   */
  forgedEpoch: Set<string>;
  /** The key was taken by another order id: Redis lost data silently (alarm). */
  keyConflict: Set<string>;
}

export async function persistOrders(
  prisma: PrismaClient,
  orders: OrderMessage[],
  hooks: {
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
  const saleIds = [...new Set(orders.map((o) => o.saleId))];
  await prisma.$transaction(
    async (tx) => {
      const sales = await tx.$queryRaw<{ id: string; epoch: number }[]>`
        SELECT id, epoch FROM sales WHERE id = ANY(${saleIds}::text[]) ORDER BY id FOR SHARE`;
      const epochOf = new Map(sales.map((s) => [s.id, s.epoch]));
      const fresh = orders.filter((o) => {
        const current = epochOf.get(o.saleId);
        if (current !== undefined && o.epoch < current) {
          result.staleEpoch.add(o.orderId);
          return false;
        }
        // A record-less message is persisted only at exactly the sale's current epoch.
        if (hooks.recordless?.(o.orderId) && (current === undefined || o.epoch !== current)) {
          result.forgedEpoch.add(o.orderId);
          return false;
        }
        return true;
      });
      if (fresh.length > 0) {
        const rows = await tx.$queryRaw<{ id: string }[]>`
          INSERT INTO orders (id, sale_id, user_id, quantity, idempotency_key, status, correlation_id, epoch, created_at, updated_at)
          SELECT v.id, v.sale_id, v.user_id, v.quantity, v.key, 'PENDING', v.corr, v.epoch, v.created, now()
          FROM unnest(
            ${fresh.map((o) => o.orderId)}::text[], ${fresh.map((o) => o.saleId)}::text[],
            ${fresh.map((o) => o.userId)}::text[], ${fresh.map((o) => o.quantity)}::int[],
            ${fresh.map((o) => o.idempotencyKey)}::text[], ${fresh.map((o) => o.correlationId)}::text[],
            ${fresh.map((o) => o.epoch)}::int[], ${fresh.map((o) => validDate(o.reservedAt))}::timestamptz[]
          ) AS v(id, sale_id, user_id, quantity, key, corr, epoch, created)
          ON CONFLICT DO NOTHING
          RETURNING id`;
        for (const r of rows) result.inserted.add(r.id);
        const rest = fresh.filter((o) => !result.inserted.has(o.orderId)).map((o) => o.orderId);
        if (rest.length > 0) {
          const found = await tx.$queryRaw<{ id: string; status: string; replayGen: number }[]>`
            SELECT id, status::text AS status, replay_gen AS "replayGen" FROM orders WHERE id = ANY(${rest}::text[])`;
          for (const f of found) {
            // admin.dlq.replay: a FAILED row moves on only for a message of its current generation.
            const gen = hooks.replayGenOf?.(f.id) ?? 0;
            if (f.status === 'FAILED' && gen > 0 && gen === f.replayGen) {
              const revived = await tx.$executeRaw`
                UPDATE orders SET status = 'PENDING', failure_reason = NULL, updated_at = now()
                WHERE id = ${f.id} AND status = 'FAILED' AND replay_gen = ${gen}`;
              if (revived > 0) f.status = 'PENDING';
            }
            result.existing.set(f.id, { status: f.status, replayGen: f.replayGen });
          }
          for (const id of rest) if (!result.existing.has(id)) result.keyConflict.add(id);
        }
      }
      hooks.beforeCommit?.();
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
  return result;
}

/**
 * The one insert of a FAILED row (docs/architecture.md#dead-letters-and-replay): an accepted order
 * whose row was never written but whose reservation was settled as failed (a dead letter), so the
 * shopper who was told "accepted" finds a final status. An existing row is left as it is.
 */
export async function insertFailedOrder(
  db: Pick<PrismaClient, '$executeRaw'>,
  o: OrderMessage,
  reason: string,
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO orders (id, sale_id, user_id, quantity, idempotency_key, status, failure_reason, correlation_id, epoch, created_at, updated_at)
    VALUES (${o.orderId}, ${o.saleId}, ${o.userId}, ${o.quantity}, ${o.idempotencyKey}, 'FAILED', ${reason.slice(0, 500)},
            ${o.correlationId}, ${o.epoch}, now(), now())
    ON CONFLICT DO NOTHING`;
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
  prisma: PrismaClient,
  decisions: { orderId: string; status: 'CONFIRMED' | 'FAILED_PAYMENT'; reason: string | null }[],
): Promise<Map<string, string>> {
  if (decisions.length === 0) return new Map();
  const ids = decisions.map((d) => d.orderId);
  const updated = await prisma.$queryRaw<{ id: string; status: string }[]>`
    UPDATE orders AS o
    SET status = v.status::"OrderStatus", failure_reason = v.reason, updated_at = now()
    FROM unnest(${ids}::text[], ${decisions.map((d) => d.status)}::text[], ${decisions.map((d) => d.reason)}::text[])
      AS v(id, status, reason)
    WHERE o.id = v.id AND o.status = 'PENDING'
    RETURNING o.id, o.status::text AS status`;
  const stored = new Map(updated.map((s) => [s.id, s.status]));
  const rest = ids.filter((id) => !stored.has(id));
  if (rest.length > 0) {
    const found = await prisma.$queryRaw<{ id: string; status: string }[]>`
      SELECT id, status::text AS status FROM orders WHERE id = ANY(${rest}::text[])`;
    for (const f of found) stored.set(f.id, f.status);
  }
  return stored;
}

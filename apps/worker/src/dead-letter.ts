import type { DeadLetterReason } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import type { EventFeed, Logger } from '@surge/infra';
import type { WorkerMetrics } from './metrics.ts';
import type { Delivery } from './order-message.ts';
import { messageKey } from './order-message.ts';
import { insertFailedOrder } from './persist-orders.ts';

/**
 * docs/architecture.md#dead-letters-and-replay, the PostgreSQL half: one transaction stores the
 * dead letter (reason, correlation id, first-seen time, payload) and moves the order row to FAILED
 * — inserting it FAILED when the message is a complete order whose row was never written, so a
 * shopper who was told "accepted" finds a final status. Keyed by the message's stream sequence so a
 * redelivery stores it once. The Redis half (record → done, stock back) and the `term()` follow in
 * the caller.
 */
export async function storeDeadLetter(
  prisma: PrismaClient,
  d: Delivery,
  reason: DeadLetterReason,
): Promise<{ orderId?: string; saleId?: string; saleExists: boolean; status: string }> {
  const ids =
    d.kind === 'order'
      ? { orderId: d.order.orderId, saleId: d.order.saleId, correlationId: d.order.correlationId }
      : { orderId: d.orderId, saleId: d.saleId, correlationId: d.correlationId };
  const headers: Record<string, string> = {};
  for (const [k, v] of d.msg.headers ?? []) headers[k] = v.join(', ');
  const firstSeen = new Date(Math.floor(d.msg.info.timestampNanos / 1_000_000));

  return prisma.$transaction(async (tx) => {
    const sale = ids.saleId
      ? await tx.$queryRaw<{ id: string }[]>`SELECT id FROM sales WHERE id = ${ids.saleId} FOR SHARE`
      : [];
    const saleExists = sale.length > 0;
    await tx.$executeRaw`
      INSERT INTO dead_letters (id, message_key, order_id, sale_id, reason, correlation_id, payload, headers, first_seen_at, created_at, updated_at)
      VALUES (gen_random_uuid(), ${messageKey(d.msg)}, ${ids.orderId ?? null}, ${ids.saleId ?? null}, ${reason.slice(0, 500)},
              ${ids.correlationId ?? null}, ${d.raw.slice(0, 10_000)}, ${JSON.stringify(headers)}::jsonb, ${firstSeen}, now(), now())
      ON CONFLICT (message_key) DO NOTHING`;
    if (saleExists && ids.orderId) {
      const updated = await tx.$executeRaw`
        UPDATE orders SET status = 'FAILED', failure_reason = ${reason.slice(0, 500)}, updated_at = now()
        WHERE id = ${ids.orderId} AND status = 'PENDING'`;
      // A forged message gets no row: a FAILED row under its key would collide with a real retry.
      if (updated === 0 && d.kind === 'order' && !reason.startsWith('FORGED_EPOCH'))
        await insertFailedOrder(tx, d.order, reason);
    }
    // The row's stored status decides the Redis half: a row that was already final keeps it.
    const row = ids.orderId
      ? await tx.$queryRaw<
          { status: string }[]
        >`SELECT status::text AS status FROM orders WHERE id = ${ids.orderId}`
      : [];
    return { orderId: ids.orderId, saleId: ids.saleId, saleExists, status: row[0]?.status ?? 'FAILED' };
  });
}

/**
 * docs/architecture.md#dead-letters-and-replay: PostgreSQL (dead letter + FAILED row), then Redis
 * (stock back once), then term.
 */
export async function deadLetter(
  deps: {
    prisma: PrismaClient;
    scripts: OrderScripts;
    keysOf(saleId: string): SaleKeys;
    metrics: WorkerMetrics;
    log: Logger;
    events?: EventFeed;
  },
  d: Delivery,
  reason: DeadLetterReason,
): Promise<void> {
  const stored = await storeDeadLetter(deps.prisma, d, reason);
  if (stored.saleExists && stored.orderId && stored.saleId) {
    await deps.scripts.finish(deps.keysOf(stored.saleId), stored.orderId, stored.status);
  }
  deps.metrics.deadLetters.inc();
  void deps.events?.emit('dead-letter', `${stored.orderId ?? 'a message'} dead-lettered: ${reason}`, {
    orderId: stored.orderId ?? null,
    saleId: stored.saleId ?? null,
  });
  deps.log.warn(
    {
      reason,
      orderId: stored.orderId,
      saleId: stored.saleId,
      correlationId: d.kind === 'order' ? d.order.correlationId : d.correlationId,
    },
    'dead-lettered',
  );
  d.msg.term();
}

import type { DeadLetterReason } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
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
      if (updated === 0 && d.kind === 'order') await insertFailedOrder(tx, d.order, reason);
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

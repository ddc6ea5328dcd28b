import type { JsMsg } from '@nats-io/jetstream';
import type { DeadLetterReason } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import type { EventFeed, Logger } from '@surge/infra';
import {
  decideClaim,
  decidePersisted,
  finalStatus,
  needsFailedRow,
  needsPayment,
} from './batch-decisions.ts';
import type { WorkerEnv } from './env.ts';
import type { WorkerMetrics } from './metrics.ts';
import { type Delivery, readDelivery } from './order-message.ts';
import type { createPaymentSimulator } from './payment.ts';
import { decidePayments, insertFailedOrder, persistOrders } from './persist-orders.ts';

export interface BatchDeps {
  env: Pick<WorkerEnv, 'SURGE_FAULT_WORKER_CRASH'>;
  log: Logger;
  prisma: PrismaClient;
  scripts: OrderScripts;
  metrics: WorkerMetrics;
  payment: ReturnType<typeof createPaymentSimulator>;
  keysOf(saleId: string): SaleKeys;
  events?: EventFeed;
  /** Dead letter, settle the reservation, terminate the message (the consumer's deadLetter()). */
  deadLetter(d: Delivery, reason: DeadLetterReason): Promise<void>;
  /** Waits while keeping the ack deadline of every held message alive. */
  holdFor(ms: number, msgs: JsMsg[]): Promise<void>;
}

type OrderDelivery = Extract<Delivery, { kind: 'order' }>;

/**
 * One batch (docs/architecture.md#the-workers-batch): read → dead-letter poison → claim each record
 * in Redis → persist in one transaction → decide payments → move records to `done` (stock back for
 * failed ones) → ack. What happens to each order is decided in batch-decisions.ts; this is the I/O
 * around those decisions. Throws when a store fails (the consumer holds or splits the batch).
 * Returns how many orders it settled.
 */
export async function processBatch(deps: BatchDeps, msgs: JsMsg[]): Promise<number> {
  const { prisma, scripts, keysOf, metrics, env, log } = deps;
  const deliveries = msgs.map(readDelivery);
  const orders: OrderDelivery[] = [];
  for (const d of deliveries) {
    if (d.kind === 'poison') await deps.deadLetter(d, d.reason);
    else orders.push(d);
  }
  if (orders.length === 0) return 0;

  const saleIds = [...new Set(orders.map((d) => d.order.saleId))];
  const known = new Set(
    (await prisma.$queryRaw<{ id: string }[]>`SELECT id FROM sales WHERE id = ANY(${saleIds}::text[])`).map(
      (s) => s.id,
    ),
  );
  const toPersist: OrderDelivery[] = [];
  const finished: OrderDelivery[] = [];
  const claims = await Promise.all(
    orders.map((d) =>
      known.has(d.order.saleId) ? scripts.claim(keysOf(d.order.saleId), d.order.orderId) : null,
    ),
  );
  for (const [i, d] of orders.entries()) {
    const decision = decideClaim(d.order, claims[i] ?? null);
    if (decision.do === 'dead-letter') await deps.deadLetter(d, decision.reason);
    else if (decision.do === 'drop') {
      metrics.dropped.inc({ why: decision.why });
      d.msg.ack();
    } else if (decision.do === 'settle') finished.push(d);
    else toPersist.push(d);
  }

  const crash = env.SURGE_FAULT_WORKER_CRASH;
  const persisted = await persistOrders(
    prisma,
    toPersist.map((d) => d.order),
    {
      beforeCommit: crash === 'before-commit' ? () => process.kill(process.pid, 'SIGKILL') : undefined,
      replayGenOf: (id) => toPersist.find((d) => d.order.orderId === id)?.replayGen ?? 0,
    },
  );
  if (crash === 'after-commit' && persisted.inserted.size > 0) process.kill(process.pid, 'SIGKILL');
  metrics.persisted.inc(persisted.inserted.size);

  const settle: OrderDelivery[] = [];
  for (const d of toPersist) {
    const id = d.order.orderId;
    const decision = decidePersisted(id, persisted);
    if (decision.do === 'drop') {
      metrics.dropped.inc({ why: decision.why });
      d.msg.ack();
    } else if (decision.do === 'key-conflict') {
      metrics.keyConflicts.inc();
      log.error(
        {
          orderId: id,
          saleId: d.order.saleId,
          correlationId: d.order.correlationId,
          event: 'alarm.key-conflict',
        },
        'idempotency key already used by another order: Redis lost data',
      );
      void deps.events?.emit(
        'alarm',
        `idempotency key of ${id} already used by another order: Redis lost data`,
        {
          orderId: id,
          saleId: d.order.saleId,
        },
      );
      await scripts.finish(keysOf(d.order.saleId), id, 'FAILED');
      d.msg.ack();
    } else {
      settle.push(d);
    }
  }
  settle.push(...finished);
  if (settle.length === 0) return 0;

  // Which orders still need a payment decision: new rows and rows left PENDING.
  const ids = settle.map((d) => d.order.orderId);
  const current = new Map(
    (
      await prisma.$queryRaw<{ id: string; status: string }[]>`
        SELECT id, status::text AS status FROM orders WHERE id = ANY(${ids}::text[])`
    ).map((r) => [r.id, r.status]),
  );
  // A finished record without its row: its reservation was settled as FAILED by a dead
  // letter (a poison copy of this message); give the accepted order its final row (I3).
  const orphans = finished.filter((d) => needsFailedRow(current.get(d.order.orderId)));
  for (const d of orphans) {
    await insertFailedOrder(prisma, d.order, 'settled by a dead letter before this message arrived');
    current.set(d.order.orderId, 'FAILED');
  }
  const unpaid = settle.filter((d) => needsPayment(current.get(d.order.orderId)));
  if (unpaid.length > 0 && deps.payment.latencyMs > 0) await deps.holdFor(deps.payment.latencyMs, msgs);
  const stored = await decidePayments(
    prisma,
    unpaid.map((d) => ({ orderId: d.order.orderId, ...deps.payment.decide() })),
  );
  for (const [id, status] of stored) current.set(id, status);

  await Promise.all(
    settle.map(async (d) => {
      const status = finalStatus(current.get(d.order.orderId));
      if (status) {
        const moved = await scripts.finish(keysOf(d.order.saleId), d.order.orderId, status);
        if (moved === 'done') {
          metrics.finalized.inc({ status });
          log.debug(
            { orderId: d.order.orderId, correlationId: d.order.correlationId, status },
            'order final',
          );
        }
      }
      d.msg.ack();
    }),
  );
  return settle.length;
}

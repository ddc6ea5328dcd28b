import type { JsMsg } from '@nats-io/jetstream';
import type { DeadLetterReason } from '@surge/contracts';
import type { PrismaClient, Sql } from '@surge/db';
import type { ClaimReply, FinishReply, OrderScripts, SaleKeys } from '@surge/hot-state';
import type { EventFeed, Logger } from '@surge/infra';
import {
  decideClaim,
  decidePersisted,
  finalStatus,
  holdsOwnReservation,
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
  /** The per-batch statements (persist, payments, status reads) go straight through `pg`. */
  sql: Sql;
  scripts: OrderScripts;
  metrics: WorkerMetrics;
  payment: ReturnType<typeof createPaymentSimulator>;
  keysOf(saleId: string): SaleKeys;
  events?: EventFeed;
  /** Dead letter, settle the reservation, terminate the message (the consumer's deadLetter()). */
  deadLetter(d: Delivery, reason: DeadLetterReason): Promise<void>;
  /** Raises the sale's rebuild flag: any server's sweeper then rebuilds it from PostgreSQL. */
  requestRebuild?(saleId: string): Promise<unknown>;
  /** Waits while keeping the ack deadline of every held message alive. */
  holdFor(ms: number, msgs: JsMsg[]): Promise<void>;
  /**
   * Sales this worker has seen in PostgreSQL: a sale row is never deleted, so a batch of known
   * sales skips the existence check (one round trip fewer). Only found sales are remembered.
   */
  knownSales?: Set<string>;
}

type OrderDelivery = Extract<Delivery, { kind: 'order' }>;

/**
 * One batch (docs/architecture.md#the-workers-batch): read → dead-letter poison → claim the records
 * in Redis (one script call per sale) → persist in one statement → decide payments (one UPDATE)
 * → move records to `done` (stock back for failed ones; one script call per sale) → ack. What happens to each order is decided in batch-decisions.ts; this is the I/O
 * around those decisions. Throws when a store fails (the consumer holds or splits the batch).
 * Returns how many orders it settled.
 */
export async function processBatch(deps: BatchDeps, msgs: JsMsg[]): Promise<number> {
  const { prisma, sql, scripts, keysOf, metrics, env, log } = deps;
  const deliveries = msgs.map(readDelivery);
  const orders: OrderDelivery[] = [];
  for (const d of deliveries) {
    if (d.kind === 'poison') await deps.deadLetter(d, d.reason);
    else orders.push(d);
  }
  if (orders.length === 0) return 0;

  const known = await knownSales(prisma, deps.knownSales ?? new Set(), orders);
  const toPersist: OrderDelivery[] = [];
  const recordless = new Set<string>();
  // Orders whose own reservation Redis holds (holdsOwnReservation): a stale one of these means
  // Redis is behind PostgreSQL (decidePersisted).
  const heldAtOwnEpoch = new Set<string>();
  const finished: OrderDelivery[] = [];
  // One claim call per sale: a sale's keys share one hash tag, so one Redis Cluster slot.
  const claims = await claimBySale(
    scripts,
    keysOf,
    orders.filter((d) => known.has(d.order.saleId)),
  );
  for (const d of orders) {
    const claim = claims.get(d) ?? null;
    const decision = decideClaim(d.order, claim);
    if (decision.do === 'dead-letter') await deps.deadLetter(d, decision.reason);
    else if (decision.do === 'drop') {
      metrics.dropped.inc({ why: decision.why });
      d.msg.ack();
    } else if (decision.do === 'settle') finished.push(d);
    else {
      toPersist.push(d);
      if (claim?.[0] === 'GONE') recordless.add(d.order.orderId);
      else if (holdsOwnReservation(claim, d.order.epoch)) heldAtOwnEpoch.add(d.order.orderId);
    }
  }

  const crash = env.SURGE_FAULT_WORKER_CRASH;
  const replayGen = new Map(toPersist.map((d) => [d.order.orderId, d.replayGen]));
  const persisted = await persistOrders(
    sql,
    toPersist.map((d) => d.order),
    {
      beforeCommit: crash === 'before-commit' ? () => process.kill(process.pid, 'SIGKILL') : undefined,
      replayGenOf: (id) => replayGen.get(id) ?? 0,
      recordless: (id) => recordless.has(id),
    },
  );
  if (crash === 'after-commit' && persisted.inserted.size > 0) process.kill(process.pid, 'SIGKILL');
  metrics.persisted.inc(persisted.inserted.size);

  // The stored status of every order settled below, as far as this batch knows it: a row this
  // batch inserted is PENDING, an existing one has the status the persist step read.
  const current = new Map<string, string>();
  const settle: OrderDelivery[] = [];
  const finishes: Finish[] = [];
  /** Stale orders whose reservations Redis still held (Redis behind PostgreSQL). */
  const behind = new Set<OrderDelivery>();
  for (const d of toPersist) {
    const id = d.order.orderId;
    const decision = decidePersisted(id, persisted, heldAtOwnEpoch.has(id));
    if (decision.do === 'drop') {
      metrics.dropped.inc({ why: decision.why });
      d.msg.ack();
    } else if (decision.do === 'fail-stale') {
      metrics.staleHotState.inc();
      behind.add(d);
      finished.push(d);
    } else if (decision.do === 'dead-letter') {
      log.error(
        { orderId: id, saleId: d.order.saleId, epoch: d.order.epoch, event: 'alarm.forged-epoch' },
        'a message without a reservation carries an epoch newer than its sale: forged',
      );
      await deps.deadLetter(d, decision.reason);
    } else if (decision.do === 'key-conflict') {
      keyConflict(deps, d);
      finishes.push({ d, status: 'FAILED', quiet: true });
    } else {
      settle.push(d);
      const status = persisted.inserted.has(id) ? 'PENDING' : persisted.existing.get(id)?.status;
      if (status) current.set(id, status);
    }
  }
  settle.push(...finished);
  for (const [saleId, group] of bySale([...behind], (d) => d.order.saleId)) {
    log.error(
      {
        saleId,
        orderIds: group.map((d) => d.order.orderId),
        messageEpochs: [...new Set(group.map((d) => d.order.epoch))],
        event: 'alarm.stale-hot-state',
      },
      "a held reservation carries an epoch older than its sale's: Redis is behind PostgreSQL; its orders end FAILED and the sale is rebuilt",
    );
    void deps.events?.emit(
      'alarm',
      `sale ${saleId}: Redis's hot state is behind PostgreSQL (older epoch); rebuilding`,
      {
        saleId,
      },
    );
    await deps.requestRebuild?.(saleId);
  }

  if (finished.length > 0) {
    const ids = finished.map((d) => d.order.orderId);
    const { rows } = await sql.query<{ id: string; status: string }>({
      name: 'surge-read-statuses',
      text: 'SELECT id, status::text AS status FROM orders WHERE id = ANY($1::text[])',
      values: [ids],
    });
    for (const r of rows) current.set(r.id, r.status);
    // A finished record without its row: its reservation was settled as FAILED by a dead
    // letter (a poison copy of this message); give the accepted order its final row (I3).
    for (const d of finished.filter((f) => needsFailedRow(current.get(f.order.orderId)))) {
      const why = behind.has(d)
        ? `reserved at epoch ${d.order.epoch}, behind the sale's: Redis's hot state was out of date`
        : 'settled by a dead letter before this message arrived';
      const stored = await insertFailedOrder(prisma, d.order, why);
      if (stored) current.set(d.order.orderId, stored);
      else {
        // Its (sale, user, key) belongs to another order id: Redis lost data. No row can be
        // written; the record is finished FAILED (units back) and the alarm raised.
        keyConflict(deps, d);
        current.set(d.order.orderId, 'FAILED');
      }
    }
  }
  // Rows still PENDING get their payment decided: one conditional UPDATE for the batch.
  const unpaid = settle.filter((d) => needsPayment(current.get(d.order.orderId)));
  if (unpaid.length > 0 && deps.payment.latencyMs > 0) await deps.holdFor(deps.payment.latencyMs, msgs);
  const stored = await decidePayments(
    sql,
    unpaid.map((d) => ({ orderId: d.order.orderId, ...deps.payment.decide() })),
  );
  for (const [id, status] of stored) current.set(id, status);

  for (const d of settle) {
    const status = finalStatus(current.get(d.order.orderId));
    finishes.push({ d, status });
  }
  // One finish call per sale; the acks only once every record of the batch is settled.
  const moved = await finishBySale(scripts, keysOf, finishes);
  for (const f of finishes) {
    if (f.status && !f.quiet && moved.get(f) === 'done') {
      metrics.finalized.inc({ status: f.status });
      log.debug(
        { orderId: f.d.order.orderId, correlationId: f.d.order.correlationId, status: f.status },
        'order final',
      );
    }
    f.d.msg.ack();
  }
  return settle.length;
}

/** A key taken by another order id (Redis lost data without anyone noticing): metric, log, event. */
function keyConflict(deps: BatchDeps, d: OrderDelivery): void {
  const id = d.order.orderId;
  deps.metrics.keyConflicts.inc();
  deps.log.error(
    {
      orderId: id,
      saleId: d.order.saleId,
      correlationId: d.order.correlationId,
      event: 'alarm.key-conflict',
    },
    'idempotency key already used by another order: Redis lost data',
  );
  void deps.events?.emit('alarm', `idempotency key of ${id} already used by another order: Redis lost data`, {
    orderId: id,
    saleId: d.order.saleId,
  });
}

/** The batch's sales that exist: the remembered ones, and the others looked up (and remembered). */
async function knownSales(
  prisma: PrismaClient,
  remembered: Set<string>,
  orders: OrderDelivery[],
): Promise<Set<string>> {
  const unknown = [...new Set(orders.map((d) => d.order.saleId))].filter((id) => !remembered.has(id));
  if (unknown.length > 0) {
    const found = await prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM sales WHERE id = ANY(${unknown}::text[])`;
    for (const s of found) remembered.add(s.id);
  }
  return remembered;
}

/** A record to finish with its stored status (null: the row is not final, leave the record). */
interface Finish {
  d: OrderDelivery;
  status: string | null;
  /** A key conflict: finished FAILED without counting it as an order reaching its status. */
  quiet?: boolean;
}

function bySale<T>(items: T[], saleOf: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const sale = saleOf(item);
    const group = groups.get(sale);
    if (group) group.push(item);
    else groups.set(sale, [item]);
  }
  return groups;
}

async function claimBySale(
  scripts: OrderScripts,
  keysOf: (saleId: string) => SaleKeys,
  orders: OrderDelivery[],
): Promise<Map<OrderDelivery, ClaimReply>> {
  const replies = new Map<OrderDelivery, ClaimReply>();
  await Promise.all(
    [...bySale(orders, (d) => d.order.saleId)].map(async ([saleId, group]) => {
      const got = await scripts.claimMany(
        keysOf(saleId),
        group.map((d) => d.order.orderId),
      );
      group.forEach((d, i) => {
        const reply = got[i];
        if (reply) replies.set(d, reply);
      });
    }),
  );
  return replies;
}

async function finishBySale(
  scripts: OrderScripts,
  keysOf: (saleId: string) => SaleKeys,
  finishes: Finish[],
): Promise<Map<Finish, FinishReply>> {
  const replies = new Map<Finish, FinishReply>();
  const final = finishes.filter((f): f is Finish & { status: string } => f.status !== null);
  await Promise.all(
    [...bySale(final, (f) => f.d.order.saleId)].map(async ([saleId, group]) => {
      const got = await scripts.finishMany(
        keysOf(saleId),
        group.map((f) => ({ orderId: f.d.order.orderId, status: f.status })),
      );
      group.forEach((f, i) => {
        const reply = got[i];
        if (reply) replies.set(f, reply);
      });
    }),
  );
  return replies;
}

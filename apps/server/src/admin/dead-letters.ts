import { randomUUID } from 'node:crypto';
import type { DeadLetterReason, DeadLetterView } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import type { OrderScripts, ReReserveReply, SaleKeys } from '@surge/hot-state';
import { orderMessage } from '../orders/order-message.ts';
import type { OrderPublisher } from '../orders/publisher.ts';

export type DlqOutcome = {
  id: string;
  outcome: 'replayed' | 'kept' | 'removed' | 'not-found';
  reason?: string;
};

/**
 * `admin.dlq.*` (docs/architecture.md#dead-letters-and-replay). A replay bumps the order row's
 * `replayGen`, reserves again by the rules of a new order (it never resurrects an order without
 * stock), and publishes with `msgID = <orderId>:r<gen>` and the generation in a header; the worker
 * moves a FAILED row on only for that generation. All of it happens while the row is locked, so two
 * admins replaying the same letter cannot both succeed.
 */
export class DeadLetters {
  constructor(
    private readonly d: {
      prisma: PrismaClient;
      scripts: OrderScripts;
      publisher: OrderPublisher;
      keysOf(saleId: string): SaleKeys;
      leaseMs: number;
    },
  ) {}

  async list(): Promise<DeadLetterView[]> {
    const rows = await this.d.prisma.$queryRaw<
      {
        id: string;
        orderId: string | null;
        saleId: string | null;
        reason: string;
        firstSeenAt: Date;
        correlationId: string | null;
        status: string | null;
      }[]
    >`SELECT d.id, d.order_id AS "orderId", d.sale_id AS "saleId", d.reason, d.first_seen_at AS "firstSeenAt",
             d.correlation_id AS "correlationId", o.status::text AS status
      FROM dead_letters d LEFT JOIN orders o ON o.id = d.order_id
      ORDER BY d.first_seen_at DESC LIMIT 500`;
    return rows.map((r) => ({
      id: r.id,
      ...(r.orderId ? { orderId: r.orderId } : {}),
      ...(r.saleId ? { saleId: r.saleId } : {}),
      reason: r.reason,
      firstSeenAt: r.firstSeenAt.toISOString(),
      ...(r.correlationId ? { correlationId: r.correlationId } : {}),
      replayable: r.status === 'FAILED',
    }));
  }

  async discard(ids: string[]): Promise<DlqOutcome[]> {
    const out: DlqOutcome[] = [];
    for (const id of ids) {
      const n = await this.d.prisma.deadLetter.deleteMany({ where: { id: uuidOrNothing(id) } });
      out.push({ id, outcome: n.count > 0 ? 'removed' : 'not-found' });
    }
    return out;
  }

  async replay(ids: string[]): Promise<DlqOutcome[]> {
    const out: DlqOutcome[] = [];
    for (const id of ids) out.push(await this.replayOne(id));
    return out;
  }

  private async replayOne(id: string): Promise<DlqOutcome> {
    const result = await this.d.prisma
      .$transaction(
        async (tx): Promise<DlqOutcome> => {
          const letters = await tx.$queryRaw<{ orderId: string | null }[]>`
            SELECT order_id AS "orderId" FROM dead_letters WHERE id = ${uuidOrNothing(id)}::uuid FOR UPDATE`;
          const letter = letters[0];
          if (!letter) return { id, outcome: 'not-found' };
          const rows = letter.orderId
            ? await tx.$queryRaw<
                {
                  id: string;
                  saleId: string;
                  userId: string;
                  key: string;
                  quantity: number;
                  status: string;
                  corr: string;
                  gen: number;
                }[]
              >`SELECT id, sale_id AS "saleId", user_id AS "userId", idempotency_key AS key, quantity, status::text AS status,
                       correlation_id AS corr, replay_gen AS gen
                FROM orders WHERE id = ${letter.orderId} FOR UPDATE`
            : [];
          const row = rows[0];
          if (row?.status !== 'FAILED') {
            return {
              id,
              outcome: 'kept',
              reason: 'not replayable: only a dead letter whose order is FAILED',
            };
          }
          const gen = row.gen + 1;
          const k = this.d.keysOf(row.saleId);
          const token = randomUUID();
          const reserved = await this.d.scripts.reReserve(k, {
            orderId: row.id,
            userId: row.userId,
            idempotencyKey: row.key,
            quantity: row.quantity,
            token,
            leaseMs: this.d.leaseMs,
            correlationId: row.corr,
            replayGen: gen,
          });
          if (reserved[0] !== 'RESERVED') throw new Refused(reserved[0]);
          await tx.$executeRaw`UPDATE orders SET replay_gen = ${gen}, updated_at = now() WHERE id = ${row.id}`;
          const out = orderMessage({
            orderId: row.id,
            saleId: row.saleId,
            userId: row.userId,
            quantity: row.quantity,
            idempotencyKey: row.key,
            epoch: Number(reserved[1]),
            correlationId: row.corr,
            replayGen: gen,
          });
          const outcome = await this.d.publisher.publish(out.msg, out.opts);
          if (outcome.kind === 'refused') {
            await this.d.scripts.release(k, row.id, token);
            throw new Refused('QUEUE_UNAVAILABLE');
          }
          if (outcome.kind === 'stored') await this.d.scripts.markPublished(k, row.id);
          // 'unknown': the reservation stays; the sweeper re-sends it with the same msgID.
          await tx.$executeRaw`DELETE FROM dead_letters WHERE id = ${id}::uuid`;
          return { id, outcome: 'replayed' };
        },
        { timeout: 15_000 },
      )
      .catch((err: unknown) => {
        if (!(err instanceof Refused)) throw err;
        return err;
      });
    if (!(result instanceof Refused)) return result;
    // A refused re-reservation keeps the dead letter, with the new reason.
    const reason: DeadLetterReason = `replay refused: ${result.refusal}`;
    await this.d.prisma.deadLetter.updateMany({ where: { id: uuidOrNothing(id) }, data: { reason } });
    return { id, outcome: 'kept', reason };
  }
}

/** A replay that could not reserve or publish: the transaction rolls back (replayGen too). */
class Refused extends Error {
  constructor(readonly refusal: Exclude<ReReserveReply[0], 'RESERVED'> | 'QUEUE_UNAVAILABLE') {
    super(`replay refused: ${refusal}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Dead-letter ids are UUIDs; anything else matches nothing (instead of a database error). */
function uuidOrNothing(id: string): string {
  return UUID.test(id) ? id : '00000000-0000-0000-0000-000000000000';
}

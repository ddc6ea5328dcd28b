import type { OrderMessage } from '@surge/contracts';
import type { ReservationRecord } from '@surge/hot-state';

/** One order message as the publisher sends it: the body and, for a replay, its msgID and generation. */
export interface OutgoingOrder {
  msg: OrderMessage;
  opts: { msgId?: string; replayGen?: number };
}

/**
 * The one builder of an order message: `order.place`, the sweeper's re-send of an orphan
 * reservation and `admin.dlq.replay` all publish what this returns. The msgID is the orderId,
 * so JetStream drops a second copy; a dead-letter replay (generation g > 0) is a new message
 * `<orderId>:r<g>` carrying g in a header, and the worker moves a FAILED row on only for the
 * row's current generation.
 */
export function orderMessage(o: {
  orderId: string;
  saleId: string;
  userId: string;
  quantity: number;
  idempotencyKey: string;
  epoch: number;
  correlationId: string;
  /** When the units were reserved; now when not known. */
  reservedAtMs?: number | undefined;
  replayGen?: number | undefined;
}): OutgoingOrder {
  const gen = o.replayGen ?? 0;
  return {
    msg: {
      orderId: o.orderId,
      saleId: o.saleId,
      userId: o.userId,
      quantity: o.quantity,
      idempotencyKey: o.idempotencyKey,
      epoch: o.epoch,
      correlationId: o.correlationId,
      reservedAt: new Date(o.reservedAtMs ?? Date.now()).toISOString(),
    },
    opts: gen > 0 ? { msgId: `${o.orderId}:r${gen}`, replayGen: gen } : {},
  };
}

/** The message of a reservation record (the sweeper re-sends what the record holds). */
export function orderMessageOfRecord(saleId: string, orderId: string, r: ReservationRecord): OutgoingOrder {
  return orderMessage({
    orderId,
    saleId,
    userId: r.u,
    quantity: r.q,
    idempotencyKey: r.k,
    epoch: r.e,
    correlationId: r.c,
    reservedAtMs: r.ts,
    replayGen: r.g,
  });
}

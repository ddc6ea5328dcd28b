import { randomUUID } from 'node:crypto';
import { isOrderStatus, type OrderMessage, type OrderStatus, type PlaceOrderResult } from '@surge/contracts';
import {
  asMarkPublishedReply,
  asReleaseReply,
  asReserveReply,
  type ReserveArgs,
  type ReserveReply,
  type SaleKeys,
} from '@surge/hot-state';
import { redisCommandNeverSent } from '@surge/infra';
import { AppError, appError } from '../errors.ts';
import { type OutgoingOrder, orderMessage } from './order-message.ts';
import type { PublishOutcome } from './publisher.ts';

/**
 * The order path of one `order.place` call (docs/architecture.md#how-an-order-flows),
 * framework-free: reserve in one Lua step, publish, then settle the reservation record by what the
 * publish told us. Judging order and reasons follow
 * docs/architecture.md#judging-order-of-a-purchase; every branch names the invariant it keeps.
 */
export interface PlaceOrderDeps {
  leaseMs: number;
  retryAfterMs: number;
  keysOf(saleId: string): SaleKeys;
  saleExists(saleId: string): boolean | Promise<boolean>;
  acceptsNewOrders(): boolean;
  /**
   * The Lua steps (OrderScripts). Their replies are read here, with the hot-state readers
   * (`as…Reply`), so any implementation — a unit test's fake too — may answer with the raw reply.
   */
  reserve(k: SaleKeys, a: ReserveArgs): Promise<readonly string[]>;
  markPublished(k: SaleKeys, orderId: string): Promise<string>;
  release(k: SaleKeys, orderId: string, token: string): Promise<readonly string[]>;
  publish(msg: OrderMessage, opts?: OutgoingOrder['opts']): Promise<PublishOutcome>;
  requestRebuild(saleId: string): void;
  /** A sale past its end answers SALE_ENDED even when its hot state has expired. */
  saleEnded?: (saleId: string) => boolean;
  /** Test-only fault injection between the reservation and the publish (die, or stall). */
  afterReserve?: () => void | Promise<void>;
}

export interface PlaceOrderInput {
  userId: string;
  saleId: string;
  quantity: number;
  idempotencyKey: string;
  correlationId: string;
}

export async function placeOrder(deps: PlaceOrderDeps, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  if (!(await deps.saleExists(input.saleId))) throw appError('SALE_NOT_FOUND');
  const k = deps.keysOf(input.saleId);
  const orderId = randomUUID();
  const token = randomUUID();
  const raw = await store(() =>
    deps.reserve(k, {
      userId: input.userId,
      idempotencyKey: input.idempotencyKey,
      quantity: input.quantity,
      orderId,
      token,
      leaseMs: deps.leaseMs,
      replayOnly: !deps.acceptsNewOrders(),
      correlationId: input.correlationId,
    }),
  );
  const reply = asReserveReply(raw);
  if (reply[0] !== 'RESERVED') return answerWithoutReserving(deps, input.saleId, reply);

  await deps.afterReserve?.();
  const out = orderMessage({ ...input, orderId, epoch: Number(reply[2]) });
  const outcome = await deps.publish(out.msg, out.opts);
  return settle(deps, k, { orderId, token, correlationId: input.correlationId }, outcome);
}

/** Every decision of the reserve step that took no units: a replay of the key's order, or a refusal. */
function answerWithoutReserving(
  deps: Pick<PlaceOrderDeps, 'retryAfterMs' | 'requestRebuild' | 'saleEnded'>,
  saleId: string,
  reply: Exclude<ReserveReply, [decision: 'RESERVED', ...string[]]>,
): PlaceOrderResult {
  switch (reply[0]) {
    case 'REPLAY':
      return { orderId: reply[1], status: statusOr(reply[2]), correlationId: reply[3], replayed: true };
    case 'IN_FLIGHT':
      throw appError('IDEMPOTENCY_IN_FLIGHT', { retryAfterMs: 250 });
    case 'MISMATCH':
      throw appError('IDEMPOTENCY_MISMATCH');
    case 'INCONSISTENT':
    case 'REBUILDING':
      // A key without its record, or no hot state: Redis lost data (or an admin flushed it).
      if (deps.saleEnded?.(saleId)) throw appError('SALE_ENDED');
      deps.requestRebuild(saleId);
      throw appError('SALE_REBUILDING', { retryAfterMs: deps.retryAfterMs });
    case 'QUEUE_UNAVAILABLE':
      throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    case 'SALE_ENDED':
    case 'SALE_PAUSED':
    case 'SALE_NOT_STARTED':
    case 'USER_LIMIT':
    case 'SOLD_OUT':
      throw appError(reply[0]);
  }
}

/** An order's status as a record stores it; a record without one is still PENDING. */
const statusOr = (stored: string | undefined): OrderStatus => (isOrderStatus(stored) ? stored : 'PENDING');

/**
 * After the publish (docs/architecture.md#publish-and-settle): each outcome maps to one definite or
 * indeterminate answer.
 */
export async function settle(
  deps: Pick<PlaceOrderDeps, 'markPublished' | 'release' | 'retryAfterMs'>,
  k: SaleKeys,
  o: { orderId: string; token: string; correlationId: string },
  outcome: PublishOutcome,
): Promise<PlaceOrderResult> {
  const accepted = (status: OrderStatus = 'PENDING'): PlaceOrderResult => {
    return { orderId: o.orderId, status, correlationId: o.correlationId, replayed: false };
  };
  if (outcome.kind === 'stored') {
    const state = await afterReserve(
      async () => asMarkPublishedReply(await deps.markPublished(k, o.orderId)),
      deps.retryAfterMs,
    );
    if (state === 'published' || state === 'done') return accepted();
    // 'released': a sweeper gave the record up, so the worker drops the message (definite);
    // 'GONE': Redis lost the record, the order may or may not be persisted (indeterminate).
    if (state === 'released') throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    throw appError('OUTCOME_UNKNOWN', { retryAfterMs: deps.retryAfterMs });
  }
  if (outcome.kind === 'refused') {
    const reply = await afterReserve(
      async () => asReleaseReply(await deps.release(k, o.orderId, o.token)),
      deps.retryAfterMs,
    );
    if (reply[0] === 'released') throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    // A worker already claimed it: an earlier attempt was stored after all.
    if (reply[0] === 'published') return accepted();
    if (reply[0] === 'done') return accepted(statusOr(reply[1]));
    // LEASE_LOST (a sweeper took over) or GONE (Redis lost the record): indeterminate.
    throw appError('OUTCOME_UNKNOWN', { retryAfterMs: deps.retryAfterMs });
  }
  throw appError('OUTCOME_UNKNOWN', { retryAfterMs: deps.retryAfterMs });
}

/**
 * The reservation call: a command that never left (Redis unreachable, no offline queue) is a
 * definite STORE_UNAVAILABLE; one whose reply was lost may have reserved (and its record will
 * be settled by a sweeper), so the answer is indeterminate: OUTCOME_UNKNOWN.
 */
async function store<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (redisCommandNeverSent(err)) throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
    throw appError('OUTCOME_UNKNOWN', { retryAfterMs: 1000 }, err);
  }
}

/** After a reservation exists, a Redis failure can never be a definite answer (I3). */
async function afterReserve<T>(fn: () => Promise<T>, retryAfterMs: number): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw appError('OUTCOME_UNKNOWN', { retryAfterMs }, err);
  }
}

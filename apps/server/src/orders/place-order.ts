import { randomUUID } from 'node:crypto';
import type { OrderMessage, OrderStatus, PlaceOrderResult } from '@surge/contracts';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import { redisCommandNeverSent } from '@surge/infra';
import { AppError, appError } from '../errors.ts';
import { type OutgoingOrder, orderMessage } from './order-message.ts';
import type { PublishOutcome } from './publisher.ts';

/**
 * The order path of one `order.place` call (SPEC §4 steps 1–2), framework-free: reserve in
 * one Lua step, publish, then settle the reservation record by what the publish told us.
 * Judging order and reasons follow SPEC §5; every branch names the invariant it keeps.
 */
export interface PlaceOrderDeps {
  leaseMs: number;
  retryAfterMs: number;
  keysOf(saleId: string): SaleKeys;
  saleExists(saleId: string): boolean | Promise<boolean>;
  acceptsNewOrders(): boolean;
  reserve: OrderScripts['reserve'];
  publish(msg: OrderMessage, opts?: OutgoingOrder['opts']): Promise<PublishOutcome>;
  markPublished(k: SaleKeys, orderId: string): Promise<string>;
  release(k: SaleKeys, orderId: string, token: string): Promise<string[]>;
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

const DECLINES = new Set(['SALE_ENDED', 'SALE_PAUSED', 'SALE_NOT_STARTED', 'USER_LIMIT', 'SOLD_OUT']);

export async function placeOrder(deps: PlaceOrderDeps, input: PlaceOrderInput): Promise<PlaceOrderResult> {
  if (!(await deps.saleExists(input.saleId))) throw appError('SALE_NOT_FOUND');
  const k = deps.keysOf(input.saleId);
  const orderId = randomUUID();
  const token = randomUUID();
  const reply = await store(() =>
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
  const [decision, a, b, c] = reply;
  switch (decision) {
    case 'RESERVED':
      break;
    case 'REPLAY':
      return {
        orderId: a ?? '',
        status: (b ?? 'PENDING') as OrderStatus,
        correlationId: c ?? '',
        replayed: true,
      };
    case 'IN_FLIGHT':
      throw appError('IDEMPOTENCY_IN_FLIGHT', { retryAfterMs: 250 });
    case 'MISMATCH':
      throw appError('IDEMPOTENCY_MISMATCH');
    case 'INCONSISTENT':
    case 'REBUILDING':
      // A key without its record, or no hot state: Redis lost data (or an admin flushed it).
      if (deps.saleEnded?.(input.saleId)) throw appError('SALE_ENDED');
      deps.requestRebuild(input.saleId);
      throw appError('SALE_REBUILDING', { retryAfterMs: deps.retryAfterMs });
    case 'QUEUE_UNAVAILABLE':
      throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    default:
      if (DECLINES.has(decision)) throw appError(decision as 'SOLD_OUT');
      throw new Error(`unexpected reserve reply ${decision}`);
  }

  await deps.afterReserve?.();
  const out = orderMessage({ ...input, orderId, epoch: Number(b) });
  const outcome = await deps.publish(out.msg, out.opts);
  return settle(deps, k, { orderId, token, correlationId: input.correlationId }, outcome);
}

/** SPEC §4 step 2 after the publish: each outcome maps to one definite or indeterminate answer. */
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
    const state = await afterReserve(() => deps.markPublished(k, o.orderId), deps.retryAfterMs);
    if (state === 'published' || state === 'done') return accepted();
    // 'released': a sweeper gave the record up, so the worker drops the message (definite);
    // 'GONE': Redis lost the record, the order may or may not be persisted (indeterminate).
    if (state === 'released') throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    throw appError('OUTCOME_UNKNOWN', { retryAfterMs: deps.retryAfterMs });
  }
  if (outcome.kind === 'refused') {
    const [state, status] = await afterReserve(() => deps.release(k, o.orderId, o.token), deps.retryAfterMs);
    if (state === 'released') throw appError('QUEUE_UNAVAILABLE', { retryAfterMs: deps.retryAfterMs });
    // A worker already claimed it: an earlier attempt was stored after all.
    if (state === 'published') return accepted();
    if (state === 'done') return accepted((status ?? 'PENDING') as OrderStatus);
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

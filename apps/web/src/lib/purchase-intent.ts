import type { OrderStatus } from '@surge/contracts';

/**
 * The idempotency-key state machine of the Buy button (docs/architecture.md#the-buy-buttons-key).
 * One purchase intent = one key: a double click, an automatic retry or a reload reuses it, so the
 * server can never take two orders for one intent. The intent ends when its order reaches a final
 * status, or when the shopper changes the quantity (the same key with other input would be a
 * MISMATCH). Pure: no React, no storage, no clock.
 */
export interface PurchaseIntent {
  key: string;
  saleId: string;
  quantity: number;
  /** Set once `order.place` answered with an order; the intent then follows that order. */
  orderId: string | null;
}

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['CONFIRMED', 'FAILED_PAYMENT', 'FAILED']);

/** Answers whose outcome is open or transient: retried on their own, with the same key. */
export const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  'OUTCOME_UNKNOWN',
  'SALE_REBUILDING',
  'QUEUE_UNAVAILABLE',
  'RATE_LIMITED',
  'IDEMPOTENCY_IN_FLIGHT',
  // No answer at all: the request may or may not have been taken — the same as OUTCOME_UNKNOWN.
  'NETWORK',
]);

export const MAX_AUTO_RETRIES = 30;
const DEFAULT_RETRY_MS = 1000;
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

/** `buy-<uuid>`: 40 characters of the server's key alphabet ([A-Za-z0-9_.:-], 8–128). */
export function newIdempotencyKey(uuid: () => string = () => crypto.randomUUID()): string {
  const key = `buy-${uuid()}`;
  if (!KEY_PATTERN.test(key)) throw new Error('idempotency key outside the allowed alphabet');
  return key;
}

/** The intent a Buy press uses: the open one if it is for this sale and quantity, else a new one. */
export function beginAttempt(
  current: PurchaseIntent | null,
  saleId: string,
  quantity: number,
  makeKey: () => string = newIdempotencyKey,
): PurchaseIntent {
  if (current && current.saleId === saleId && current.quantity === quantity) return current;
  return { key: makeKey(), saleId, quantity, orderId: null };
}

/** A quantity change ends the intent (the next Buy makes a new key). */
export function withQuantity(current: PurchaseIntent | null, quantity: number): PurchaseIntent | null {
  return current && current.quantity !== quantity ? null : current;
}

/** An order's status for this intent: remembered while open, the intent ends at a final one. */
export function withOrder(
  current: PurchaseIntent | null,
  orderId: string,
  status: OrderStatus,
): PurchaseIntent | null {
  if (!current) return null;
  if (current.orderId !== null && current.orderId !== orderId) return current; // an older order
  return FINAL_STATUSES.has(status) ? null : { ...current, orderId };
}

/**
 * After a definite rejection the key was not used up (declines store nothing), so the intent
 * stays — except on a MISMATCH, where only a fresh key can succeed.
 */
export function afterRejection(current: PurchaseIntent | null, reason: string): PurchaseIntent | null {
  return reason === 'IDEMPOTENCY_MISMATCH' ? null : current;
}

/** How long to wait before retrying with the same key, or null when the reason is final. */
export function retryDelayMs(
  reason: string,
  retryAfterMs: number | undefined,
  attempt: number,
): number | null {
  if (!RETRYABLE_REASONS.has(reason) || attempt >= MAX_AUTO_RETRIES) return null;
  const wanted = retryAfterMs ?? DEFAULT_RETRY_MS;
  return Math.min(30_000, Math.max(100, wanted));
}

/** Reads an intent back from storage (a reload mid-purchase must keep its key); junk gives null. */
export function parseIntent(raw: string | null): PurchaseIntent | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<PurchaseIntent>;
    if (typeof v.key !== 'string' || !KEY_PATTERN.test(v.key)) return null;
    if (typeof v.saleId !== 'string' || typeof v.quantity !== 'number') return null;
    const orderId = typeof v.orderId === 'string' ? v.orderId : null;
    return { key: v.key, saleId: v.saleId, quantity: v.quantity, orderId };
  } catch {
    return null;
  }
}

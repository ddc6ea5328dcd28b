import { describe, expect, it } from 'vitest';
import {
  afterRejection,
  beginAttempt,
  MAX_AUTO_RETRIES,
  newIdempotencyKey,
  parseIntent,
  retryDelayMs,
  withOrder,
  withQuantity,
} from './purchase-intent.ts';

let n = 0;
const makeKey = () => `key-${String(++n).padStart(8, '0')}`;

describe('purchase intent: one idempotency key per intent', () => {
  it('makes keys of the allowed alphabet and length', () => {
    const key = newIdempotencyKey();
    expect(key).toMatch(/^[A-Za-z0-9_.:-]{8,128}$/);
    expect(newIdempotencyKey()).not.toBe(key);
  });

  it('reuses the key for a double click and for retries of the same intent', () => {
    const first = beginAttempt(null, 'demo', 2, makeKey);
    const second = beginAttempt(first, 'demo', 2, makeKey);
    expect(second.key).toBe(first.key);
  });

  it('keeps the key while the order is PENDING and ends the intent at a final status', () => {
    const open = withOrder(beginAttempt(null, 'demo', 1, makeKey), 'o-1', 'PENDING');
    expect(open?.orderId).toBe('o-1');
    expect(beginAttempt(open, 'demo', 1, makeKey).key).toBe(open?.key);
    for (const status of ['CONFIRMED', 'FAILED_PAYMENT', 'FAILED'] as const) {
      expect(withOrder(open, 'o-1', status)).toBeNull();
    }
    const next = beginAttempt(withOrder(open, 'o-1', 'CONFIRMED'), 'demo', 1, makeKey);
    expect(next.key).not.toBe(open?.key);
  });

  it('ignores status updates of an older order', () => {
    const open = withOrder(beginAttempt(null, 'demo', 1, makeKey), 'o-2', 'PENDING');
    expect(withOrder(open, 'o-1', 'CONFIRMED')).toBe(open);
  });

  it('ends the intent when the quantity changes', () => {
    const intent = beginAttempt(null, 'demo', 1, makeKey);
    expect(withQuantity(intent, 1)).toBe(intent);
    expect(withQuantity(intent, 2)).toBeNull();
    expect(beginAttempt(intent, 'demo', 2, makeKey).key).not.toBe(intent.key);
    expect(beginAttempt(intent, 'other', 1, makeKey).key).not.toBe(intent.key);
  });

  it('keeps the key after a decline, drops it after a mismatch', () => {
    const intent = beginAttempt(null, 'demo', 1, makeKey);
    expect(afterRejection(intent, 'SOLD_OUT')).toBe(intent);
    expect(afterRejection(intent, 'IDEMPOTENCY_MISMATCH')).toBeNull();
  });

  it('retries only open or transient outcomes, after retryAfterMs', () => {
    expect(retryDelayMs('OUTCOME_UNKNOWN', 750, 0)).toBe(750);
    expect(retryDelayMs('RATE_LIMITED', undefined, 0)).toBe(1000);
    expect(retryDelayMs('SALE_REBUILDING', 5, 0)).toBe(100);
    expect(retryDelayMs('QUEUE_UNAVAILABLE', 1000, MAX_AUTO_RETRIES)).toBeNull();
    expect(retryDelayMs('SOLD_OUT', 1000, 0)).toBeNull();
    expect(retryDelayMs('USER_LIMIT', undefined, 0)).toBeNull();
  });

  it('restores a stored intent and rejects junk', () => {
    const intent = withOrder(beginAttempt(null, 'demo', 3, makeKey), 'o-9', 'PENDING');
    expect(parseIntent(JSON.stringify(intent))).toEqual(intent);
    expect(parseIntent('{"key":"no spaces allowed","saleId":"demo","quantity":1}')).toBeNull();
    expect(parseIntent('not json')).toBeNull();
    expect(parseIntent(null)).toBeNull();
  });
});

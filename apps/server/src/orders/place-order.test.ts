import { saleKeys } from '@surge/hot-state';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { type PlaceOrderDeps, placeOrder, settle } from './place-order.ts';
import type { PublishOutcome } from './publisher.ts';

/**
 * The pure decision table of docs/architecture.md#publish-and-settle: publish outcome × record
 * state → answer.
 */
const k = saleKeys('t', 's');
const o = { orderId: 'o1', token: 't1', correlationId: 'c1' };
const deps = (state: string, released: string[] = ['released']) => ({
  retryAfterMs: 100,
  markPublished: async () => state,
  release: async () => released,
});
const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof AppError ? e.reason : String(e)),
  );
const stored: PublishOutcome = { kind: 'stored' };
const refused: PublishOutcome = { kind: 'refused', why: 'stream full' };
const unknown: PublishOutcome = { kind: 'unknown', why: 'timeout' };

describe('settling a reservation after the publish', () => {
  it('stored + published (or already done) → accepted PENDING', async () => {
    expect(await settle(deps('published'), k, o, stored)).toEqual({
      orderId: 'o1',
      status: 'PENDING',
      correlationId: 'c1',
      replayed: false,
    });
    expect(await reason(settle(deps('done'), k, o, stored))).toBe('ok');
  });
  it('stored but the record is gone → OUTCOME_UNKNOWN (indeterminate); released by a sweeper → QUEUE_UNAVAILABLE', async () => {
    expect(await reason(settle(deps('GONE'), k, o, stored))).toBe('OUTCOME_UNKNOWN');
    expect(await reason(settle(deps('released'), k, o, stored))).toBe('QUEUE_UNAVAILABLE');
  });
  it('refused → released → QUEUE_UNAVAILABLE; already claimed by a worker → accepted', async () => {
    expect(await reason(settle(deps('x', ['released']), k, o, refused))).toBe('QUEUE_UNAVAILABLE');
    expect(await reason(settle(deps('x', ['published', 'PENDING']), k, o, refused))).toBe('ok');
    expect((await settle(deps('x', ['done', 'CONFIRMED']), k, o, refused)).status).toBe('CONFIRMED');
    expect(await reason(settle(deps('x', ['LEASE_LOST']), k, o, refused))).toBe('OUTCOME_UNKNOWN');
  });
  it('unknown outcome → OUTCOME_UNKNOWN, nothing released', async () => {
    let releasedCalls = 0;
    const d = {
      ...deps('published'),
      release: async () => {
        releasedCalls++;
        return ['released'];
      },
    };
    expect(await reason(settle(d, k, o, unknown))).toBe('OUTCOME_UNKNOWN');
    expect(releasedCalls).toBe(0);
  });
  it('a Redis failure after the reservation exists is OUTCOME_UNKNOWN, never a definite error', async () => {
    const lost = async () => Promise.reject(new Error('Connection is closed.'));
    expect(await reason(settle({ ...deps('published'), markPublished: lost }, k, o, stored))).toBe(
      'OUTCOME_UNKNOWN',
    );
    expect(await reason(settle({ ...deps('published'), release: lost }, k, o, refused))).toBe(
      'OUTCOME_UNKNOWN',
    );
  });
});

describe('placeOrder before the publish', () => {
  const base = (reply: string[], exists = true): PlaceOrderDeps => ({
    leaseMs: 1000,
    retryAfterMs: 100,
    keysOf: (id) => saleKeys('t', id),
    saleExists: () => exists,
    acceptsNewOrders: () => true,
    reserve: async () => reply as [string, ...string[]],
    publish: async () => stored,
    markPublished: async () => 'published',
    release: async () => ['released'],
    requestRebuild: () => undefined,
  });
  const input = { userId: 'u', saleId: 's', quantity: 1, idempotencyKey: 'key-12345', correlationId: 'c' };

  it('a reserve that never left is STORE_UNAVAILABLE; one whose reply was lost is OUTCOME_UNKNOWN', async () => {
    const failing = (message: string): PlaceOrderDeps => ({
      ...base([]),
      reserve: async () => Promise.reject(new Error(message)),
    });
    expect(
      await reason(
        placeOrder(failing("Stream isn't writeable and enableOfflineQueue options is false"), input),
      ),
    ).toBe('STORE_UNAVAILABLE');
    expect(await reason(placeOrder(failing('Reached the max retries per request limit'), input))).toBe(
      'OUTCOME_UNKNOWN',
    );
  });

  it('maps each script decision to its reason', async () => {
    expect(await reason(placeOrder(base([], false), input))).toBe('SALE_NOT_FOUND');
    for (const d of [
      'SOLD_OUT',
      'USER_LIMIT',
      'SALE_PAUSED',
      'SALE_ENDED',
      'SALE_NOT_STARTED',
      'QUEUE_UNAVAILABLE',
    ]) {
      expect(await reason(placeOrder(base([d]), input))).toBe(d);
    }
    expect(await reason(placeOrder(base(['IN_FLIGHT', 'o']), input))).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(await reason(placeOrder(base(['MISMATCH', 'o']), input))).toBe('IDEMPOTENCY_MISMATCH');
  });
  it('a rebuilding or inconsistent sale answers SALE_REBUILDING and asks for a rebuild', async () => {
    for (const reply of [['REBUILDING'], ['INCONSISTENT', 'o']]) {
      const asked: string[] = [];
      const d = { ...base(reply), requestRebuild: (id: string) => void asked.push(id) };
      expect(await reason(placeOrder(d, input))).toBe('SALE_REBUILDING');
      expect(asked).toEqual(['s']);
    }
  });
  it('a replay returns the earlier order with replayed: true and publishes nothing', async () => {
    let published = 0;
    const d = {
      ...base(['REPLAY', 'o-old', 'CONFIRMED', 'c-old']),
      publish: async () => {
        published++;
        return stored;
      },
    };
    expect(await placeOrder(d, input)).toEqual({
      orderId: 'o-old',
      status: 'CONFIRMED',
      correlationId: 'c-old',
      replayed: true,
    });
    expect(published).toBe(0);
  });
  it('asks for replay-only mode when the queue does not accept new orders', async () => {
    let mode: boolean | undefined;
    const d: PlaceOrderDeps = {
      ...base(['QUEUE_UNAVAILABLE']),
      acceptsNewOrders: () => false,
      reserve: async (_k, a) => {
        mode = a.replayOnly;
        return ['QUEUE_UNAVAILABLE'];
      },
    };
    await reason(placeOrder(d, input));
    expect(mode).toBe(true);
  });
});

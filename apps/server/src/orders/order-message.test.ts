import { orderMessageSchema } from '@surge/contracts';
import { describe, expect, it } from 'vitest';
import { orderMessage, orderMessageOfRecord } from './order-message.ts';

const fields = {
  orderId: 'o-1',
  saleId: 'shoes',
  userId: 'u_1',
  quantity: 2,
  idempotencyKey: 'key-00001',
  epoch: 3,
  correlationId: 'c-1',
};

describe('the order message builder', () => {
  it('builds a message the worker accepts, sent under the orderId', () => {
    const out = orderMessage({ ...fields, reservedAtMs: Date.parse('2026-11-21T00:00:00Z') });
    expect(orderMessageSchema.parse(out.msg)).toEqual({ ...fields, reservedAt: '2026-11-21T00:00:00.000Z' });
    expect(out.opts).toEqual({});
  });
  it('a dead-letter replay is a new message <orderId>:r<gen> carrying its generation', () => {
    expect(orderMessage({ ...fields, replayGen: 2 }).opts).toEqual({ msgId: 'o-1:r2', replayGen: 2 });
  });
  it('re-sends what a reservation record holds', () => {
    const out = orderMessageOfRecord('shoes', 'o-1', {
      s: 'reserved',
      u: 'u_1',
      q: 2,
      k: 'key-00001',
      e: 3,
      c: 'c-1',
      ts: 0,
      g: 1,
    });
    expect(out.msg).toEqual({ ...fields, reservedAt: '1970-01-01T00:00:00.000Z' });
    expect(out.opts).toEqual({ msgId: 'o-1:r1', replayGen: 1 });
  });
});

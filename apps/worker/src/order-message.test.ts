import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { readDelivery } from './order-message.ts';

/** A stand-in for a JetStream delivery: only what readDelivery reads. */
function fakeMsg(body: string, subject: string, headers: Record<string, string> = {}): JsMsg {
  return {
    subject,
    string: () => body,
    headers: { get: (k: string) => headers[k] ?? '' },
  } as unknown as JsMsg;
}

const order = {
  orderId: 'o-1',
  saleId: 'shoes',
  userId: 'u_1',
  quantity: 2,
  idempotencyKey: 'key-00001',
  epoch: 3,
  correlationId: 'c-1',
  reservedAt: '2026-11-21T00:00:00.000Z',
};

describe('reading an order message', () => {
  it('accepts a valid order with matching epoch header and subject', () => {
    const d = readDelivery(
      fakeMsg(JSON.stringify(order), 'ns.orders.shoes', { 'Surge-Epoch': '3', 'Surge-Replay-Gen': '2' }),
    );
    expect(d).toMatchObject({ kind: 'order', order, replayGen: 2 });
  });
  it('calls garbage UNPARSEABLE', () => {
    expect(readDelivery(fakeMsg('{oops', 'ns.orders.shoes'))).toMatchObject({
      kind: 'poison',
      reason: 'UNPARSEABLE: not JSON',
    });
  });
  it('calls a schema violation INVALID but recovers the ids to settle its reservation', () => {
    const d = readDelivery(fakeMsg(JSON.stringify({ ...order, quantity: 0 }), 'ns.orders.shoes'));
    expect(d).toMatchObject({ kind: 'poison', orderId: 'o-1', saleId: 'shoes', correlationId: 'c-1' });
    expect(d.kind === 'poison' && d.reason).toMatch(/^INVALID: quantity/);
  });
  it('refuses a body whose epoch disagrees with its header, or a subject naming another sale', () => {
    expect(readDelivery(fakeMsg(JSON.stringify(order), 'ns.orders.shoes', { 'Surge-Epoch': '2' })).kind).toBe(
      'poison',
    );
    expect(readDelivery(fakeMsg(JSON.stringify(order), 'ns.orders.hats', { 'Surge-Epoch': '3' })).kind).toBe(
      'poison',
    );
  });
  it('does not recover ids that are not ids', () => {
    const d = readDelivery(fakeMsg(JSON.stringify({ orderId: 7, saleId: 'Not A Sale' }), 'ns.orders.x'));
    expect(d).toMatchObject({ kind: 'poison', orderId: undefined, saleId: undefined });
  });
});

import type { JsMsg } from '@nats-io/jetstream';
import { isDatabaseUnavailable } from '@surge/db/errors';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from './message-queue.ts';
import { createPaymentSimulator } from './payment.ts';

describe('payment simulator', () => {
  it('fails at the configured rate', () => {
    let i = 0;
    const seq = [0.1, 0.5, 0.29, 0.3];
    const p = createPaymentSimulator({
      failureRate: 0.3,
      latencyMs: 0,
      random: () => seq[i++ % seq.length] ?? 0,
    });
    expect([p.decide(), p.decide(), p.decide(), p.decide()].map((d) => d.status)).toEqual([
      'FAILED_PAYMENT',
      'CONFIRMED',
      'FAILED_PAYMENT',
      'CONFIRMED',
    ]);
  });
  it('never fails at rate 0 and always at rate 1', () => {
    expect(createPaymentSimulator({ failureRate: 0, latencyMs: 0, random: () => 0 }).decide().status).toBe(
      'CONFIRMED',
    );
    expect(
      createPaymentSimulator({ failureRate: 1, latencyMs: 0, random: () => 0.999 }).decide().status,
    ).toBe('FAILED_PAYMENT');
  });
});

describe('database outage classification', () => {
  it('recognises unreachable PostgreSQL through wrapped causes', () => {
    expect(isDatabaseUnavailable({ code: 'P1001' })).toBe(true);
    expect(isDatabaseUnavailable(new Error('x', { cause: { code: 'ECONNREFUSED' } }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('terminating connection due to administrator command'))).toBe(
      true,
    );
    // A raw query during a restart, before PostgreSQL accepts connections (seen in a fault run).
    const starting = Object.assign(
      new Error(
        'Raw query failed. Code: `57P03`. Message: `the database system is not yet accepting connections`',
      ),
      { code: 'P2010' },
    );
    expect(isDatabaseUnavailable(starting)).toBe(true);
    expect(
      isDatabaseUnavailable({ code: 'P2010', message: 'Raw query failed', meta: { code: '57P03' } }),
    ).toBe(true);
  });
  it('does not take a data error for an outage', () => {
    expect(isDatabaseUnavailable({ code: 'P2002', message: 'Unique constraint failed' })).toBe(false);
    expect(isDatabaseUnavailable(new Error('invalid input syntax for type integer'))).toBe(false);
  });
});

describe('message queue', () => {
  const m = (n: number) => ({ seq: n }) as unknown as JsMsg;
  it('hands out batches of at most max and blocks the pump when full', async () => {
    const q = new MessageQueue(2);
    await q.push(m(1));
    let pumped = false;
    const blocked = q.push(m(2)).then(() => {
      pumped = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(pumped).toBe(false);
    expect((await q.take(1)).map((x) => x.seq)).toEqual([1]);
    await blocked;
    expect(pumped).toBe(true);
    expect((await q.take(5)).map((x) => x.seq)).toEqual([2]);
  });
  it('close() releases a waiting taker with nothing', async () => {
    const q = new MessageQueue(2);
    const waiting = q.take(3);
    q.close();
    expect(await waiting).toEqual([]);
  });
});

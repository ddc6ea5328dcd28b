import { describe, expect, it } from 'vitest';
import {
  History,
  judge,
  type OrderRow,
  placeCompletion,
  type SaleObservation,
} from '../support/checker/index.ts';

/**
 * The invariant checker's judgement (docs/architecture.md#invariants) on made-up observations: no
 * services needed.
 */

let seq = 0;
const row = (o: Partial<OrderRow> = {}): OrderRow => ({
  id: `o${++seq}`,
  userId: 'u1',
  quantity: 1,
  status: 'CONFIRMED',
  idempotencyKey: `key-${seq}`,
  ...o,
});

/** A quiet sale of 10 units, limit 3: `rows` live or not, Redis consistent with them. */
function observation(rows: OrderRow[], hot: Partial<SaleObservation['hot']> = {}): SaleObservation {
  const users: Record<string, string> = {};
  let live = 0;
  for (const r of rows)
    if (r.status === 'PENDING' || r.status === 'CONFIRMED') {
      users[r.userId] = String(Number(users[r.userId] ?? 0) + r.quantity);
      live += r.quantity;
    }
  return {
    saleId: 's',
    sale: { totalStock: 10, perUserLimit: 3 },
    rows,
    hot: { remaining: String(10 - live), users, open: 0, outbox: 0, ...hot },
  };
}

const checks = (v: { violations: { invariant: string; check: string }[] }) =>
  v.violations.map((x) => `${x.invariant} ${x.check}`);

describe('checker: the database and Redis', () => {
  it('a consistent quiet sale has no violation, and the facts add up', () => {
    const a = row({ quantity: 2 });
    const b = row({ userId: 'u2', status: 'FAILED_PAYMENT' });
    const v = judge(observation([a, b]), { accepted: [a.id, b.id] });
    expect(v.violations).toEqual([]);
    expect(v.facts).toMatchObject({ total: 10, perUserLimit: 3, live: 2, remaining: 8, rows: 2 });
    expect(v.facts.byStatus).toEqual({ CONFIRMED: 1, FAILED_PAYMENT: 1 });
  });

  it('I1: remaining below 0, or missing, and live units above the stock', () => {
    expect(checks(judge(observation([]), { total: 10 }))).toEqual([]);
    expect(checks(judge(observation([], { remaining: '-1' })))).toEqual([
      'I1 remaining-negative',
      'I2 conservation',
    ]);
    expect(checks(judge(observation([], { remaining: null })))).toEqual(['I1 remaining-unknown']);
    const many = Array.from({ length: 4 }, (_, i) => row({ userId: `u${i}`, quantity: 3 }));
    expect(checks(judge(observation(many, { remaining: '0' }), { accepted: many.map((r) => r.id) }))).toEqual(
      ['I1 oversold', 'I2 conservation'],
    );
  });

  it('I2: remaining + live ≠ total, judged only when quiet', () => {
    const a = row();
    const obs = observation([a], { remaining: '8' });
    expect(checks(judge(obs, { accepted: [a.id] }))).toEqual(['I2 conservation']);
    expect(checks(judge(obs, { accepted: [a.id], quiet: false }))).toEqual([]);
    // an expected total that the data does not reach
    expect(checks(judge(observation([a]), { accepted: [a.id], total: 11 }))).toEqual(['I2 conservation']);
  });

  it('I3: a definite success without its row, a row nobody accepted, a row still PENDING', () => {
    const a = row();
    const stray = row({ userId: 'u9' });
    const pending = row({ userId: 'u3', status: 'PENDING' });
    const v = judge(observation([a, stray, pending]), { accepted: ['lost-order', a.id, pending.id] });
    expect(checks(v)).toEqual(['I3 accepted-without-row', 'I3 not-final', 'I3 unexplained-row']);
    expect(v.violations[0]?.evidence).toEqual({ count: 1, first: ['lost-order'] });
    expect(v.violations[2]?.evidence).toMatchObject({ count: 1, first: [stray.id] });
    // while not quiet, a missing row or a PENDING one is no violation yet
    expect(
      checks(judge(observation([a, pending]), { accepted: ['lost-order', a.id, pending.id], quiet: false })),
    ).toEqual([]);
  });

  it('I3: unknown answers explain at most that many rows; an indeterminate id or key explains its row', () => {
    const [a, b] = [row(), row({ userId: 'u2' })];
    expect(checks(judge(observation([a, b]), { indeterminate: { count: 1 } }))).toEqual([
      'I3 unexplained-row',
    ]);
    expect(checks(judge(observation([a, b]), { indeterminate: { count: 2 } }))).toEqual([]);
    expect(
      checks(judge(observation([a, b]), { indeterminate: { orderIds: [a.id], keys: [b.idempotencyKey] } })),
    ).toEqual([]);
  });

  it('I4: two orders under one (user, key); the same key for two users is fine', () => {
    const a = row({ idempotencyKey: 'same-key' });
    const b = row({ idempotencyKey: 'same-key' });
    const c = row({ userId: 'u2', idempotencyKey: 'same-key' });
    const v = judge(observation([a, b, c]), { accepted: [a.id, b.id, c.id] });
    expect(checks(v)).toEqual(['I4 two-orders-one-key']);
    expect(v.violations[0]?.evidence).toMatchObject({
      count: 1,
      first: [{ key: 'u1 same-key', ids: [a.id, b.id] }],
    });
  });

  it('I5: a user above the limit; Redis counts that disagree with the live rows (a 0 left behind too)', () => {
    const rows = [row({ quantity: 3 }), row({ quantity: 1 })];
    expect(checks(judge(observation(rows), { accepted: rows.map((r) => r.id) }))).toEqual(['I5 over-limit']);
    const ok = [row({ quantity: 2 })];
    const off = observation(ok, { users: { u1: '1' } });
    expect(checks(judge(off, { accepted: [ok[0]?.id ?? ''] }))).toEqual(['I5 redis-user-counts']);
    const zero = observation(ok, { users: { u1: '2', u7: '0' } });
    expect(judge(zero, { accepted: [ok[0]?.id ?? ''] }).violations[0]?.evidence).toMatchObject({
      first: [{ userId: 'u7', redis: '0' }],
    });
    expect(checks(judge(off, { accepted: [ok[0]?.id ?? ''], quiet: false }))).toEqual([]);
  });

  it('returns every violation at once, never throwing', () => {
    const v = judge(
      {
        saleId: 's',
        sale: null,
        rows: [row({ quantity: 50, status: 'PENDING' })],
        hot: { remaining: 'x', users: {}, open: 3, outbox: 1 },
      },
      { accepted: ['nope'] },
    );
    expect(checks(v)).toEqual([
      'I2 sale-row',
      'I1 remaining-unknown',
      'I3 accepted-without-row',
      'I3 not-final',
      'I3 unexplained-row',
      'I5 redis-user-counts',
    ]);
  });
});

describe('checker: a history of answers', () => {
  const place = (h: History, process: string, input: { key: string; user?: string; qty?: number }) =>
    h.invoke(process, 'place', {
      saleId: 's',
      quantity: input.qty ?? 1,
      idempotencyKey: input.key,
      userId: input.user,
    });

  it('every ok answer has its row, as asked; a refused call made none; an indeterminate one at most one', () => {
    const h = new History();
    const a = row({ idempotencyKey: 'key-a' });
    place(h, 'c1', { key: 'key-a', user: 'u1' }).ok({ orderId: a.id, replayed: false });
    place(h, 'c2', { key: 'key-lost', user: 'u2' }).ok({ orderId: 'lost', replayed: false });
    const refused = row({ userId: 'u3', idempotencyKey: 'key-refused' });
    place(h, 'c3', { key: 'key-refused', user: 'u3' }).fail('SOLD_OUT');
    const maybe = row({ userId: 'u4', idempotencyKey: 'key-maybe' });
    place(h, 'c4', { key: 'key-maybe', user: 'u4' }).info('OUTCOME_UNKNOWN');
    const open = row({ userId: 'u5', idempotencyKey: 'key-open' });
    place(h, 'c5', { key: 'key-open', user: 'u5' }); // never answered
    const v = judge(observation([a, refused, maybe, open]), { history: h.events });
    expect(checks(v)).toEqual(['I3 accepted-without-row', 'I3 unexplained-row']);
    expect(v.violations[0]?.evidence).toEqual({ count: 1, first: ['lost'] });
    expect(v.violations[1]?.evidence).toMatchObject({
      count: 1,
      first: [refused.id],
      refusedCalls: { count: 1 },
    });
  });

  it('an ok answer whose row differs from the call (quantity, key, user)', () => {
    const h = new History();
    const a = row({ quantity: 2, idempotencyKey: 'key-a' });
    place(h, 'c1', { key: 'key-a', user: 'u1', qty: 1 }).ok({ orderId: a.id });
    const b = row({ userId: 'u2', idempotencyKey: 'key-b' });
    place(h, 'c2', { key: 'key-b', user: 'u3' }).ok({ orderId: b.id });
    expect(checks(judge(observation([a, b]), { history: h.events }))).toEqual([
      'I3 row-differs',
      'I3 row-differs',
    ]);
  });

  it('I4: one key answered with two different orders', () => {
    const h = new History();
    const a = row({ idempotencyKey: 'key-a' });
    place(h, 'c1', { key: 'key-a', user: 'u1' }).ok({ orderId: a.id });
    place(h, 'c1', { key: 'key-a', user: 'u1' }).ok({ orderId: a.id, replayed: true });
    expect(judge(observation([a]), { history: h.events }).violations).toEqual([]);
    place(h, 'c1', { key: 'key-a', user: 'u1' }).ok({ orderId: 'other', replayed: true });
    expect(checks(judge(observation([a]), { history: h.events, quiet: false }))).toEqual([
      'I4 one-key-two-answers',
    ]);
  });

  it('I6: no call that starts after the pause returned is accepted until the resume; replays are no new order', () => {
    const h = new History();
    const before = row({ idempotencyKey: 'key-before' });
    const racing = row({ userId: 'u2', idempotencyKey: 'key-racing' });
    const late = row({ userId: 'u3', idempotencyKey: 'key-late' });
    const after = row({ userId: 'u4', idempotencyKey: 'key-after' });
    place(h, 'c1', { key: 'key-before', user: 'u1' }).ok({ orderId: before.id });
    const pause = h.invoke('admin', 'pause', { saleId: 's' });
    const r = place(h, 'c2', { key: 'key-racing', user: 'u2' }); // started before the pause returned
    pause.ok({ paused: true });
    r.ok({ orderId: racing.id });
    place(h, 'c3', { key: 'key-late', user: 'u3' }).ok({ orderId: late.id });
    place(h, 'c1', { key: 'key-before', user: 'u1' }).ok({ orderId: before.id, replayed: true });
    place(h, 'c5', { key: 'key-refused', user: 'u5' }).fail('SALE_PAUSED');
    h.invoke('admin', 'resume', { saleId: 's' }).ok({ paused: false });
    place(h, 'c4', { key: 'key-after', user: 'u4' }).ok({ orderId: after.id });
    const v = judge(observation([before, racing, late, after]), { history: h.events });
    expect(checks(v)).toEqual(['I6 accepted-while-paused']);
    expect(v.violations[0]?.evidence).toMatchObject({ count: 1, first: [{ process: 'c3' }] });
  });

  it('calls on other sales are not this sale’s', () => {
    const h = new History();
    h.invoke('c1', 'place', { saleId: 'other', quantity: 1, idempotencyKey: 'key-x' }).ok({ orderId: 'x' });
    expect(judge(observation([]), { history: h.events }).violations).toEqual([]);
  });

  it('records a call around a promise; an error is an indeterminate completion', async () => {
    const h = new History();
    const input = { saleId: 's', quantity: 1, idempotencyKey: 'key-1' };
    await h.record(
      'c1',
      { f: 'place', value: input },
      async () => ({ status: 200, body: { result: { data: { orderId: 'o', replayed: false } } } }),
      placeCompletion,
    );
    await expect(
      h.record(
        'c1',
        { f: 'place', value: input },
        () => Promise.reject(new Error('socket hang up')),
        placeCompletion,
      ),
    ).rejects.toThrow();
    expect(h.events.map((e) => `${e.op} ${e.type}`)).toEqual(['0 invoke', '0 ok', '2 invoke', '2 info']);
    expect(h.operations()[1]?.completion?.value).toEqual({ reason: 'no answer: socket hang up' });
    const op = h.invoke('c1', 'place', input);
    op.fail('SOLD_OUT');
    expect(() => op.ok({})).toThrow(/twice/);
  });

  it('which answers of order.place are definite', () => {
    const answer = (status: number, reason?: string, data?: unknown) => ({
      status,
      body: reason ? { error: { data: { reason } } } : { result: { data } },
    });
    expect(placeCompletion(answer(200, undefined, { orderId: 'o', replayed: true }))).toEqual({
      type: 'ok',
      value: { orderId: 'o', replayed: true },
    });
    expect(placeCompletion(answer(409, 'SOLD_OUT')).type).toBe('fail');
    expect(placeCompletion(answer(503, 'QUEUE_UNAVAILABLE')).type).toBe('fail');
    expect(placeCompletion(answer(503, 'OUTCOME_UNKNOWN')).type).toBe('info');
    expect(placeCompletion(answer(500, 'INTERNAL')).type).toBe('info');
    expect(placeCompletion(answer(502)).type).toBe('info');
  });
});

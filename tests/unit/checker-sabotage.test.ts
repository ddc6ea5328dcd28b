import { describe, expect, it } from 'vitest';
import { History, judge, type OrderRow, type SaleObservation } from '../support/checker/index.ts';

/**
 * The checker can fail (issue 12 §2): one clean run of calls and what it left behind, then each
 * sabotage of the history or the database alone, and the violation it must be named by.
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

describe('checker: sabotaged histories and databases', () => {
  interface Run {
    h: History;
    rows: OrderRow[];
    hot?: Partial<SaleObservation['hot']>;
  }
  /** Four users buying 1–3 units each (limit 3 of 10), a refusal, an unknown answer, a pause. */
  function cleanRun(): Run {
    const h = new History();
    const rows: OrderRow[] = [];
    const buy = (user: string, key: string, qty: number) => {
      const r = row({ userId: user, idempotencyKey: key, quantity: qty });
      rows.push(r);
      h.invoke(user, 'place', { saleId: 's', quantity: qty, idempotencyKey: key, userId: user }).ok({
        orderId: r.id,
        replayed: false,
      });
      return r;
    };
    buy('u1', 'k-u1-1', 2);
    buy('u2', 'k-u2-1', 3);
    h.invoke('u3', 'place', { saleId: 's', quantity: 3, idempotencyKey: 'k-u3-1', userId: 'u3' }).fail(
      'USER_LIMIT',
    );
    const unknown = row({ userId: 'u4', idempotencyKey: 'k-u4-1' });
    rows.push(unknown);
    h.invoke('u4', 'place', { saleId: 's', quantity: 1, idempotencyKey: 'k-u4-1', userId: 'u4' }).info(
      'OUTCOME_UNKNOWN',
    );
    h.invoke('admin', 'pause', { saleId: 's' }).ok({});
    h.invoke('u5', 'place', { saleId: 's', quantity: 1, idempotencyKey: 'k-u5-1', userId: 'u5' }).fail(
      'SALE_PAUSED',
    );
    h.invoke('admin', 'resume', { saleId: 's' }).ok({});
    buy('u5', 'k-u5-2', 1);
    return { h, rows };
  }
  const verdict = ({ h, rows, hot }: Run) => checks(judge(observation(rows, hot), { history: h.events }));

  it('the clean run has no violation', () => {
    expect(verdict(cleanRun())).toEqual([]);
  });

  it.each([
    {
      sabotage: 'an acknowledged order with no row',
      expected: ['I3 accepted-without-row'],
      apply: (r: Run) => {
        r.rows.splice(0, 1);
      },
    },
    {
      sabotage: 'a duplicate row (one order id twice)',
      expected: ['I3 duplicate-row', 'I4 two-orders-one-key', 'I5 over-limit'],
      apply: (r: Run) => {
        r.rows.push({ ...(r.rows[1] as OrderRow) });
        r.hot = { remaining: '0' };
      },
    },
    {
      sabotage: 'a second order under one key',
      expected: ['I3 unexplained-row', 'I4 two-orders-one-key'],
      apply: (r: Run) => {
        r.rows.push(row({ userId: 'u1', idempotencyKey: 'k-u1-1', quantity: 1 }));
      },
    },
    {
      sabotage: 'an oversell',
      expected: ['I1 remaining-negative', 'I1 oversold'],
      apply: (r: Run) => {
        for (const [i, u] of ['u6', 'u7', 'u8'].entries())
          r.h.invoke(u, 'place', { saleId: 's', quantity: 2, idempotencyKey: `k-${u}-${i}`, userId: u }).ok({
            orderId:
              r.rows[r.rows.push(row({ userId: u, idempotencyKey: `k-${u}-${i}`, quantity: 2 })) - 1]?.id,
          });
        r.hot = { remaining: '-3' };
      },
    },
    {
      sabotage: 'a per-user limit broken',
      expected: ['I5 over-limit'],
      apply: (r: Run) => {
        const extra = row({ userId: 'u2', idempotencyKey: 'k-u2-2', quantity: 1 });
        r.rows.push(extra);
        r.h.invoke('u2', 'place', { saleId: 's', quantity: 1, idempotencyKey: 'k-u2-2', userId: 'u2' }).ok({
          orderId: extra.id,
        });
      },
    },
    {
      sabotage: 'a definite failure that left a row',
      expected: ['I3 refused-with-row'],
      apply: (r: Run) => {
        r.rows.push(row({ userId: 'u3', idempotencyKey: 'k-u3-1', quantity: 1 }));
      },
    },
    {
      sabotage: 'an order accepted while paused',
      expected: ['I6 accepted-while-paused'],
      apply: (r: Run) => {
        const h = new History();
        for (const e of r.h.events) {
          if (e.type !== 'invoke') continue;
          const done = r.h.events.find((x) => x.op === e.op && x.type !== 'invoke');
          const op = h.invoke(e.process, e.f as 'place', e.value as never);
          const value = done?.value as { reason?: string } | undefined;
          if (done?.type === 'ok') op.ok(done.value);
          else if (value?.reason === 'SALE_PAUSED') {
            const late = row({ userId: 'u5', idempotencyKey: 'k-u5-1', quantity: 1 });
            r.rows.push(late);
            op.ok({ orderId: late.id, replayed: false });
          } else if (done?.type === 'fail') op.fail(value?.reason ?? '');
          else op.info(value?.reason ?? '');
        }
        r.h = h;
      },
    },
    {
      sabotage: 'Redis forgets units (remaining too high)',
      expected: ['I2 conservation'],
      apply: (r: Run) => {
        r.hot = { remaining: '9' };
      },
    },
  ])('names $sabotage', ({ apply, expected }) => {
    const run = cleanRun();
    apply(run);
    expect(verdict(run)).toEqual(expected);
  });
});

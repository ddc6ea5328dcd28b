import { describe, expect, it } from 'vitest';
import { judgeRoom, type OrderRow, type RoomObservation } from '../support/checker/index.ts';

/** The checker's I8 judgement (docs/architecture.md#invariants, §8) on made-up waiting rooms: no services needed. */
const place = (n: number, userId: string, admittedAtMs: number | null) => ({
  member: `${n}:${userId}`,
  userId,
  admittedAtMs,
});
const room = (o: Partial<RoomObservation> = {}): RoomObservation => ({
  admitPerSecond: 2,
  cursor: 2,
  places: [place(1, 'ua', 1000), place(2, 'ub', 1500), place(3, 'uc', null)],
  admittedUsers: ['ua', 'ub'],
  ...o,
});
const order = (userId: string): OrderRow => ({
  id: `o-${userId}`,
  userId,
  quantity: 1,
  status: 'CONFIRMED',
  idempotencyKey: `key-${userId}`,
});
const checks = (r: RoomObservation, rows: OrderRow[] = [], rate?: number) =>
  judgeRoom(r, rows, rate).map((v) => v.check);

describe('checker: I8 fair admission', () => {
  it('a room admitted in line order, within the rate, with orders by admitted shoppers only, passes', () => {
    expect(checks(room(), [order('ua'), order('ub')])).toEqual([]);
  });

  it('an order by a shopper never admitted is a violation', () => {
    expect(checks(room(), [order('uc')])).toEqual(['order-without-admission']);
  });

  it('a waiting place below the cursor, an admitted one above it, or times going back break the line order', () => {
    expect(checks(room({ cursor: 3 }))).toEqual(['line-order']);
    expect(checks(room({ cursor: 1 }))).toEqual(['line-order']);
    const back = room({ places: [place(1, 'ua', 1500), place(2, 'ub', 1000), place(3, 'uc', null)] });
    expect(checks(back)).toEqual(['line-order']);
  });

  it('an older place of a shopper who joined again counts as admitted', () => {
    const rejoined = room({
      cursor: 2,
      places: [place(1, 'ua', null), place(2, 'ub', 1500), place(4, 'ua', null)],
      admittedUsers: ['ub'],
    });
    expect(checks(rejoined)).toEqual([]);
  });

  it('more admissions than admitPerSecond within a closed 1,000 ms window is a violation', () => {
    const fast = room({
      places: [place(1, 'ua', 1000), place(2, 'ub', 1500), place(3, 'uc', 2000)],
      cursor: 3,
    });
    expect(checks(fast)).toEqual(['admission-rate']);
    expect(checks(fast, [], 3)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { type HistoryEvent, judgeAdmissionHistory, type OrderRow } from '../support/checker/index.ts';

/**
 * I8 judged over a history (fault runs, where Redis may lose the room): a clean queued run, then
 * each sabotage alone and the check it must be named by — and a Redis wipe, after which
 * shoppers are told NOT_IN_QUEUE and join again, judged as the rooms it separates.
 */

const WALL = 1_000_000;
const TTL_S = 30;
const SALE = 'q';

/** A hand-written history: every call with its times (ms on the history clock). */
class Script {
  readonly events: HistoryEvent[] = [];
  call(
    process: string,
    f: string,
    input: Record<string, unknown>,
    invoked: number,
    completed: number,
    type: 'ok' | 'fail' | 'info',
    value: unknown,
  ) {
    const op = this.events.length;
    this.events.push({
      index: op,
      op,
      type: 'invoke',
      process,
      f,
      value: { saleId: SALE, ...input },
      time: invoked,
    });
    this.events.push({ index: op + 1, op, type, process, f, value, time: completed });
    this.events.sort((a, b) => a.time - b.time);
    return this;
  }
  /** A ticket answer admitted at history time `at` (wall clock WALL + at). */
  static admitted(user: string, at: number) {
    return {
      state: 'admitted',
      admissionToken: `tok-${user}-${at}`,
      tokenExpiresAt: new Date(WALL + at + TTL_S * 1000).toISOString(),
    };
  }
  static waiting = { state: 'waiting', admissionToken: null, tokenExpiresAt: null };
  join(user: string, invoked: number, answer: unknown = Script.waiting) {
    return this.call(user, 'join', { userId: user }, invoked, invoked + 5, 'ok', answer);
  }
  ticket(user: string, invoked: number, answer: unknown) {
    const failed = typeof answer === 'string';
    return this.call(
      user,
      'ticket',
      { userId: user },
      invoked,
      invoked + 5,
      failed ? 'fail' : 'ok',
      failed ? { reason: answer } : answer,
    );
  }
  place(user: string, invoked: number, token: string, orderId: string) {
    return this.call(
      user,
      'place',
      { userId: user, quantity: 1, idempotencyKey: `k-${orderId}`, admissionToken: token },
      invoked,
      invoked + 5,
      'ok',
      { orderId },
    );
  }
}

const row = (userId: string, orderId: string): OrderRow => ({
  id: orderId,
  userId,
  quantity: 1,
  status: 'CONFIRMED',
  idempotencyKey: `k-${orderId}`,
});

const judgeIt = (s: Script, rows: OrderRow[], losses: { start: number; end: number }[] = []) =>
  judgeAdmissionHistory(s.events, rows, {
    saleId: SALE,
    tokenTtlS: TTL_S,
    admitPerSecond: 2,
    wallStartMs: WALL,
    losses,
    startsAtMs: WALL,
  }).map((v) => v.check);

/** Three shoppers joining one after another, admitted in that order, 600 ms apart, each buying. */
function clean() {
  const s = new Script();
  s.join('a', 100).join('b', 200).join('c', 300);
  s.ticket('a', 1000, Script.admitted('a', 900)).ticket('b', 1600, Script.admitted('b', 1500));
  s.ticket('c', 2200, Script.admitted('c', 2100));
  s.place('a', 1100, 'tok-a-900', 'o1')
    .place('b', 1700, 'tok-b-1500', 'o2')
    .place('c', 2300, 'tok-c-2100', 'o3');
  return { s, rows: [row('a', 'o1'), row('b', 'o2'), row('c', 'o3')] };
}

describe('checker: I8 over a history', () => {
  it('passes a clean queued run', () => {
    const { s, rows } = clean();
    expect(judgeIt(s, rows)).toEqual([]);
  });

  it('names an order asked for with a forged, foreign or expired token, and a row no call explains', () => {
    const forged = clean();
    forged.s.place('a', 2400, 'made-up', 'o4');
    expect(judgeIt(forged.s, [...forged.rows, row('a', 'o4')])).toEqual(['order-without-admission']);
    const foreign = clean();
    foreign.s.place('c', 2400, 'tok-a-900', 'o4');
    expect(judgeIt(foreign.s, foreign.rows)).toEqual(['order-without-admission']);
    const expired = clean();
    expired.s.place('a', 900 + TTL_S * 1000 + 100, 'tok-a-900', 'o4');
    expect(judgeIt(expired.s, expired.rows)).toEqual(['order-without-admission']);
    const stray = clean();
    expect(judgeIt(stray.s, [...stray.rows, row('b', 'o9')])).toEqual(['order-without-admission']);
  });

  it('names a later joiner admitted before an earlier one', () => {
    const s = new Script();
    s.join('a', 100).join('b', 200);
    s.ticket('b', 1000, Script.admitted('b', 900)).ticket('a', 1700, Script.admitted('a', 1600));
    expect(judgeIt(s, [])).toEqual(['line-order']);
  });

  it('does not order shoppers whose joins overlapped', () => {
    const s = new Script();
    s.call('a', 'join', { userId: 'a' }, 100, 400, 'ok', Script.waiting);
    s.join('b', 200);
    s.ticket('b', 1000, Script.admitted('b', 900)).ticket('a', 1700, Script.admitted('a', 1600));
    expect(judgeIt(s, [])).toEqual([]);
  });

  it('names more admissions within a second than the rate', () => {
    const s = new Script();
    s.join('a', 100).join('b', 200).join('c', 300);
    s.ticket('a', 1000, Script.admitted('a', 900)).ticket('b', 1300, Script.admitted('b', 1200));
    s.ticket('c', 1600, Script.admitted('c', 1500));
    expect(judgeIt(s, [])).toEqual(['admission-rate']);
  });

  it('names a place lost with no Redis loss, not one a wipe lost', () => {
    const lost = new Script();
    lost.join('a', 100).ticket('a', 500, Script.waiting).ticket('a', 5000, 'NOT_IN_QUEUE');
    expect(judgeIt(lost, [])).toEqual(['place-lost']);
    const changed = new Script();
    changed
      .join('a', 100)
      .ticket('a', 1000, Script.admitted('a', 900))
      .ticket('a', 2000, Script.admitted('a', 1900));
    expect(judgeIt(changed, [])).toEqual(['place-lost']);

    // A wipe at 3,000–3,500 ms: the room restarts empty, shoppers are told NOT_IN_QUEUE and
    // join again; b now stands before a, which only the new room's order decides.
    const wiped = new Script();
    wiped.join('a', 100).join('b', 200);
    wiped.ticket('a', 1000, Script.admitted('a', 900)).place('a', 1100, 'tok-a-900', 'o1');
    wiped.ticket('b', 2000, Script.waiting);
    wiped.ticket('b', 6000, 'NOT_IN_QUEUE').ticket('a', 6100, 'NOT_IN_QUEUE');
    wiped.join('b', 6200).join('a', 6300);
    wiped.ticket('b', 7000, Script.admitted('b', 6900)).ticket('a', 7600, Script.admitted('a', 7500));
    wiped.place('b', 7100, 'tok-b-6900', 'o2');
    const rows = [row('a', 'o1'), row('b', 'o2')];
    expect(judgeIt(wiped, rows, [{ start: 3000, end: 3500 }])).toEqual([]);
    // The same history without the loss: b's lost place, and the order broken across rooms.
    expect(judgeIt(wiped, rows)).toEqual(['place-lost']);
  });
});

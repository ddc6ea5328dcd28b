import { type AdmissionRules, judgeAdmissionHistory } from './admission.ts';
import {
  type HistoryEvent,
  type Operation,
  type PlaceInput,
  type PlaceResult,
  pairOperations,
} from './history.ts';
import type { OrderRow, SaleObservation } from './observe.ts';
import { judgeRoom } from './room.ts';

/**
 * One broken rule: which invariant (docs/architecture.md#invariants), a stable check name, and what
 * shows it.
 */
export interface Violation {
  invariant: 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I8';
  check: string;
  message: string;
  evidence: Record<string, unknown>;
}

/** What the clients saw, and how quiet the system is. */
export interface Expectations {
  /** Initial stock + restocks. Default: the sale row's `total_stock`. */
  total?: number;
  /** Default: the sale row's `per_user_limit`. */
  perUserLimit?: number;
  /**
   * The sale is quiet (no call in flight, stream drained): I2 holds, every row is final and
   * Redis agrees with PostgreSQL. Default true; false judges only what holds at every moment.
   */
  quiet?: boolean;
  /** Order ids of definite successes. */
  accepted?: Iterable<string>;
  /** Calls whose outcome the client does not know: each may have made at most one order. */
  indeterminate?: {
    /** Order ids they may have made. */
    orderIds?: Iterable<string>;
    /** Idempotency keys they were sent with. */
    keys?: Iterable<string>;
    /** How many rows nothing else explains may exist (one per unknown answer). */
    count?: number;
  };
  /**
   * I8 on a queued sale: the admission rate to judge windows by (default: the rate the hot hash
   * holds now); `false` skips I8 (Redis lost the room: I8 is judged between such losses).
   */
  admitPerSecond?: number | false;
  /** Every call as invoke → ok / fail / info; judged along with the sets above. */
  history?: readonly HistoryEvent[];
  /** I8 judged over `history` (admission.ts), as fault runs need it where Redis may lose the room. */
  admission?: AdmissionRules;
}

export interface Facts {
  total: number;
  perUserLimit: number;
  remaining: number;
  /** Σ quantity of PENDING and CONFIRMED rows. */
  live: number;
  byStatus: Record<string, number>;
  rows: number;
  open: number;
  outbox: number;
}

export interface Verdict {
  violations: Violation[];
  facts: Facts;
}

const LIVE = new Set(['PENDING', 'CONFIRMED']);
const SHOWN = 10;
/** A bounded list for evidence: the first few and how many there are. */
const some = <T>(items: readonly T[]) => ({ count: items.length, first: items.slice(0, SHOWN) });

/**
 * Judges one sale against the invariants (I1–I6, and I8 on a queued sale; I7 is these after faults) from what PostgreSQL and
 * Redis hold and what the clients saw. Never throws on a broken rule: returns every violation.
 */
export function judge(obs: SaleObservation, x: Expectations = {}): Verdict {
  const violations: Violation[] = [];
  const add = (invariant: Violation['invariant'], check: string, message: string, evidence = {}) =>
    violations.push({ invariant, check, message, evidence });
  const quiet = x.quiet ?? true;
  const saleId = obs.saleId;
  if (!obs.sale && (x.total === undefined || x.perUserLimit === undefined))
    add('I2', 'sale-row', `sale ${saleId} has no row in PostgreSQL`);
  const total = x.total ?? obs.sale?.totalStock ?? Number.NaN;
  const perUserLimit = x.perUserLimit ?? obs.sale?.perUserLimit ?? Number.NaN;
  const rows = obs.rows;
  const liveRows = rows.filter((r) => LIVE.has(r.status));
  const live = liveRows.reduce((s, r) => s + r.quantity, 0);
  const remaining = Number(obs.hot.remaining ?? Number.NaN);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const facts: Facts = {
    total,
    perUserLimit,
    remaining,
    live,
    byStatus,
    rows: rows.length,
    open: obs.hot.open,
    outbox: obs.hot.outbox,
  };

  // I1 no oversell ------------------------------------------------------------------------
  if (obs.hot.remaining === null || !Number.isFinite(remaining))
    add('I1', 'remaining-unknown', `remaining of ${saleId} in Redis is ${obs.hot.remaining}`);
  else if (remaining < 0) add('I1', 'remaining-negative', `remaining ${remaining} < 0`, { remaining });
  if (live > total)
    add('I1', 'oversold', `live units ${live} > total stock ${total}`, { live, total, byStatus });

  // I2 conservation ------------------------------------------------------------------------
  if (quiet && Number.isFinite(remaining) && remaining + live !== total)
    add(
      'I2',
      'conservation',
      `remaining ${remaining} + Σ live ${live} = ${remaining + live} ≠ total ${total}`,
      {
        remaining,
        live,
        total,
        byStatus,
      },
    );

  // The calls: definite successes and indeterminate ones, from the sets and the history.
  const calls = callsOf(saleId, x);

  // I3 exactly once -------------------------------------------------------------------------
  const byId = new Map<string, OrderRow[]>();
  for (const r of rows) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  const duplicated = [...byId].filter(([, rs]) => rs.length > 1).map(([id]) => id);
  if (duplicated.length > 0)
    add('I3', 'duplicate-row', `${duplicated.length} order ids have more than one row`, some(duplicated));
  if (quiet) {
    const missing = [...calls.accepted].filter((id) => !byId.has(id));
    if (missing.length > 0)
      add('I3', 'accepted-without-row', `${missing.length} definite successes have no row`, some(missing));
    const pending = rows.filter((r) => r.status === 'PENDING').map((r) => r.id);
    if (pending.length > 0)
      add('I3', 'not-final', `${pending.length} rows still PENDING once quiet`, some(pending));
  }
  for (const { input, result } of calls.okPlaces) {
    const row = byId.get(result.orderId)?.[0];
    if (row && (row.quantity !== input.quantity || row.idempotencyKey !== input.idempotencyKey))
      add('I3', 'row-differs', `order ${result.orderId} is not what its call asked for`, { input, row });
    if (row && input.userId !== undefined && row.userId !== input.userId)
      add('I3', 'row-differs', `order ${result.orderId} belongs to another user`, { input, row });
  }
  // A row under a (user, key) whose every call was definitely refused: docs/architecture.md#invariants, a definite
  // error has no order.
  const refusedWithRow = rows.filter((r) => calls.onlyRefused.has(scopedKey(r.userId, r.idempotencyKey)));
  if (refusedWithRow.length > 0)
    add(
      'I3',
      'refused-with-row',
      `${refusedWithRow.length} rows under keys whose every call was definitely refused`,
      some(refusedWithRow.map((r) => ({ id: r.id, userId: r.userId, key: r.idempotencyKey }))),
    );
  const unexplained = rows.filter(
    (r) =>
      !calls.accepted.has(r.id) &&
      !calls.indeterminateIds.has(r.id) &&
      !calls.indeterminateKeys.has(r.idempotencyKey) &&
      !calls.indeterminateScoped.has(scopedKey(r.userId, r.idempotencyKey)) &&
      !calls.onlyRefused.has(scopedKey(r.userId, r.idempotencyKey)),
  );
  if (unexplained.length > calls.indeterminateCount) {
    const refused = unexplained.filter((r) => calls.refusedKeys.has(r.idempotencyKey)).map((r) => r.id);
    add(
      'I3',
      'unexplained-row',
      `${unexplained.length} rows without an accepted call (${calls.indeterminateCount} unknown answers may explain some)` +
        (refused.length > 0 ? `; ${refused.length} under keys whose calls were definitely refused` : ''),
      { ...some(unexplained.map((r) => r.id)), refusedCalls: some(refused) },
    );
  }

  // I4 idempotency --------------------------------------------------------------------------
  const byKey = new Map<string, string[]>();
  for (const r of rows) {
    const k = scopedKey(r.userId, r.idempotencyKey);
    byKey.set(k, [...(byKey.get(k) ?? []), r.id]);
  }
  const twice = [...byKey].filter(([, ids]) => ids.length > 1);
  if (twice.length > 0)
    add('I4', 'two-orders-one-key', `${twice.length} (user, key) pairs have more than one order`, {
      ...some(twice.map(([key, ids]) => ({ key, ids }))),
    });
  const answered = new Map<string, Set<string>>();
  for (const { input, result } of calls.okPlaces) {
    if (input.userId === undefined) continue;
    const k = scopedKey(input.userId, input.idempotencyKey);
    answered.set(k, (answered.get(k) ?? new Set()).add(result.orderId));
  }
  const split = [...answered].filter(([, ids]) => ids.size > 1);
  if (split.length > 0)
    add('I4', 'one-key-two-answers', `${split.length} keys were answered with different orders`, {
      ...some(split.map(([key, ids]) => ({ key, ids: [...ids] }))),
    });

  // I5 per-user limit ------------------------------------------------------------------------
  const perUser = new Map<string, number>();
  for (const r of liveRows) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + r.quantity);
  const over = [...perUser].filter(([, q]) => q > perUserLimit);
  if (over.length > 0)
    add('I5', 'over-limit', `${over.length} users hold more than perUserLimit ${perUserLimit}`, {
      ...some(over.map(([userId, units]) => ({ userId, units }))),
    });
  if (quiet) {
    // Redis agrees with PostgreSQL on every user's held units (an entry of 0 is a disagreement).
    // "ip:<group>" (IP_UNIT_LIMIT's counters) and "open:<userId>" (order.mine's index) are
    // not users: user ids never contain ':' (README.md#security).
    const users = new Set([...Object.keys(obs.hot.users).filter((u) => !u.includes(':')), ...perUser.keys()]);
    const disagree = [...users]
      .map((userId) => ({ userId, redis: obs.hot.users[userId], liveRows: perUser.get(userId) }))
      .filter((u) => u.redis === undefined || u.liveRows === undefined || Number(u.redis) !== u.liveRows);
    if (disagree.length > 0)
      add(
        'I5',
        'redis-user-counts',
        `${disagree.length} users whose held units in Redis ≠ Σ live rows`,
        some(disagree),
      );
  }

  // I6 pause is a barrier ---------------------------------------------------------------------
  const late = calls.acceptedWhilePaused.map((o) => ({ op: o.op, process: o.process, input: o.input }));
  if (late.length > 0)
    add(
      'I6',
      'accepted-while-paused',
      `${late.length} calls that started after the pause were accepted`,
      some(late),
    );

  // I8 fair admission (queued sales) ---------------------------------------------------------
  if (obs.room && x.admitPerSecond !== false) {
    for (const v of judgeRoom(obs.room, rows, x.admitPerSecond)) add('I8', v.check, v.message, v.evidence);
  }
  if (x.admission && x.history) {
    for (const v of judgeAdmissionHistory(x.history, rows, x.admission))
      add('I8', `history-${v.check}`, v.message, v.evidence);
  }

  return { violations, facts };
}

const scopedKey = (userId: string, key: string) => `${userId} ${key}`;

/** The sale's calls, from the expectation sets and the history together. */
function callsOf(saleId: string, x: Expectations) {
  const accepted = new Set(x.accepted ?? []);
  const indeterminateIds = new Set(x.indeterminate?.orderIds ?? []);
  const indeterminateKeys = new Set(x.indeterminate?.keys ?? []);
  /** Keys of indeterminate calls whose user is known: `<user> <key>`. */
  const indeterminateScoped = new Set<string>();
  const indeterminateCount = x.indeterminate?.count ?? 0;
  const refusedKeys = new Set<string>();
  const okPlaces: { op: Operation; input: PlaceInput; result: PlaceResult }[] = [];
  const acceptedWhilePaused: Operation[] = [];

  /** `<user> <key>` of calls by outcome: a key only ever refused must have no row. */
  const refusedScoped = new Set<string>();
  const answeredScoped = new Set<string>();
  const ops = x.history ? pairOperations(x.history) : [];
  const saleOf = (o: Operation) => (o.input as { saleId?: string } | null)?.saleId;
  const mine = ops.filter((o) => saleOf(o) === saleId);
  for (const o of mine) {
    if (o.f !== 'place') continue;
    const input = o.input as PlaceInput;
    const c = o.completion;
    if (input.userId !== undefined)
      (c?.type === 'fail' ? refusedScoped : answeredScoped).add(
        scopedKey(input.userId, input.idempotencyKey),
      );
    if (c?.type === 'ok') {
      const result = c.value as PlaceResult;
      accepted.add(result.orderId);
      okPlaces.push({ op: o, input, result });
    } else if (c?.type === 'fail') {
      refusedKeys.add(input.idempotencyKey);
    } else if (input.userId !== undefined) {
      // info, or never completed: it may have made an order under its key — at most one, which
      // `two-orders-one-key` (I4) holds it to
      indeterminateScoped.add(scopedKey(input.userId, input.idempotencyKey));
    } else {
      indeterminateKeys.add(input.idempotencyKey);
    }
  }

  // I6: the windows from a pause's `ok` to the next resume's `invoke`.
  const windows: { from: number; to: number }[] = [];
  for (const p of mine.filter((o) => o.f === 'pause' && o.completion?.type === 'ok')) {
    const from = p.completion?.index ?? Number.POSITIVE_INFINITY;
    const resume = mine.find((o) => o.f === 'resume' && o.invokedAt > from);
    windows.push({ from, to: resume?.invokedAt ?? Number.POSITIVE_INFINITY });
  }
  for (const { op, result } of okPlaces)
    if (!result.replayed && windows.some((w) => op.invokedAt > w.from && op.invokedAt < w.to))
      acceptedWhilePaused.push(op);

  return {
    accepted,
    indeterminateIds,
    indeterminateKeys,
    indeterminateScoped,
    indeterminateCount,
    refusedKeys,
    onlyRefused: new Set([...refusedScoped].filter((k) => !answeredScoped.has(k))),
    okPlaces,
    acceptedWhilePaused,
  };
}

import type { HistoryEvent, PlaceInput } from './history.ts';
import type { OrderRow } from './observe.ts';
import type { RoomViolation } from './room.ts';

/**
 * I8 (docs/architecture.md#invariants) judged from a history of calls, as fault runs need it:
 * Redis may lose the room (a wipe restarts it empty and shoppers join again), so what Redis
 * holds at the end says nothing of the rooms before. Judged between such losses:
 *
 * - `order-without-admission`: every order row (and every accepted call) of the sale was asked
 *   for with a token an admitted ticket gave that user, before the token expired;
 * - `line-order`: a shopper whose join was answered before another's join was sent is admitted
 *   no later (arrival order after the start; places made before it are drawn at random);
 * - `admission-rate`: never more than `admitPerSecond` admissions seen within 1,000 ms;
 * - `place-lost`: a shopper who held a place is never told NOT_IN_QUEUE, and an admission never
 *   changes before its token expires, unless Redis lost the room in between (a server's crash
 *   keeps everyone's place).
 *
 * A ticket's admission time is `tokenExpiresAt − tokenTtlS` (the same on every read), so the
 * admissions a shopper saw are exact; the ones nobody looked at are not judged.
 */
export interface AdmissionRules {
  saleId: string;
  tokenTtlS: number;
  admitPerSecond: number;
  /** Wall-clock ms of the history's time 0 (`History.wallStartMs`). */
  wallStartMs: number;
  /** History-time intervals in which Redis may have lost the room (a wipe, a failover). */
  losses?: readonly { start: number; end: number }[];
  /** The sale's start (wall ms): joins sent before it get random places, not judged for order. */
  startsAtMs?: number;
}

/** After a loss, ms during which answers may still describe the old room (not judged). */
const GRACE_MS = 2000;
/** Tolerance between the history's wall clock and the servers' (same machine). */
const SKEW_MS = 50;

interface Call {
  f: string;
  process: string;
  input: Record<string, unknown>;
  invoked: number;
  completed: number | null;
  type: 'ok' | 'fail' | 'info';
  value: unknown;
}

interface Seen {
  state: string;
  token: string | null;
  admittedAt: number | null;
  expiresAt: number | null;
}

function calls(events: readonly HistoryEvent[], saleId: string): Call[] {
  const open = new Map<number, Call>();
  const out: Call[] = [];
  for (const e of events) {
    if (e.type === 'invoke') {
      const input = (e.value ?? {}) as Record<string, unknown>;
      if (input.saleId !== saleId) continue;
      const c: Call = {
        f: e.f,
        process: e.process,
        input,
        invoked: e.time,
        completed: null,
        type: 'info',
        value: null,
      };
      open.set(e.op, c);
      out.push(c);
      continue;
    }
    const c = open.get(e.op);
    if (!c) continue;
    c.completed = e.time;
    c.type = e.type;
    c.value = e.value;
  }
  return out;
}

/** How much of I8 a history let the judge see (filled when given). */
export interface AdmissionCoverage {
  rooms: number;
  tokens: number;
  admissionsSeen: number;
  /** Shoppers whose place took part in the line-order comparison. */
  placesOrdered: number;
  ordersChecked: number;
}

export function judgeAdmissionHistory(
  events: readonly HistoryEvent[],
  rows: readonly OrderRow[],
  rules: AdmissionRules,
  coverage?: AdmissionCoverage,
): RoomViolation[] {
  const out: RoomViolation[] = [];
  const ttlMs = rules.tokenTtlS * 1000;
  const wall = (t: number) => rules.wallStartMs + t;
  const losses = [...(rules.losses ?? [])].sort((a, b) => a.start - b.start);
  /** The epoch a call lies wholly in (between two losses, past the grace), or -1. */
  const epochOf = (c: Call): number => {
    const end = c.completed ?? Number.POSITIVE_INFINITY;
    let e = 0;
    for (const l of losses) {
      if (end < l.start) break;
      if (c.invoked <= l.end + GRACE_MS) return -1;
      e++;
    }
    return e;
  };
  const all = calls(events, rules.saleId);
  const userOf = (c: Call) => String(c.input.userId ?? c.process);
  const seen = (c: Call): Seen | null => {
    if (c.type !== 'ok' || (c.f !== 'join' && c.f !== 'ticket')) return null;
    const t = c.value as { state?: string; admissionToken?: string | null; tokenExpiresAt?: string | null };
    const expiresAt = t.tokenExpiresAt ? Date.parse(t.tokenExpiresAt) : null;
    return {
      state: String(t.state),
      token: t.admissionToken ?? null,
      expiresAt,
      admittedAt: t.state === 'admitted' && expiresAt !== null ? expiresAt - ttlMs : null,
    };
  };

  // Tokens the servers gave out, each with its holder and expiry.
  const tokens = new Map<string, { userId: string; expiresAt: number }>();
  for (const c of all) {
    const s = seen(c);
    if (s?.token && s.expiresAt !== null) tokens.set(s.token, { userId: userOf(c), expiresAt: s.expiresAt });
  }
  const places = all.filter((c) => c.f === 'place');
  const validPlace = (c: Call) => {
    const input = c.input as unknown as PlaceInput;
    const t = input.admissionToken ? tokens.get(input.admissionToken) : undefined;
    return !!t && t.userId === userOf(c) && wall(c.invoked) < t.expiresAt + SKEW_MS;
  };
  const unadmitted: { userId: string; key: string; orderId?: string }[] = [];
  for (const c of places)
    if (c.type === 'ok' && !validPlace(c))
      unadmitted.push({
        userId: userOf(c),
        key: String(c.input.idempotencyKey),
        orderId: (c.value as { orderId?: string }).orderId,
      });
  for (const r of rows) {
    const asked = places.filter((c) => userOf(c) === r.userId && c.input.idempotencyKey === r.idempotencyKey);
    if (!asked.some(validPlace) && !unadmitted.some((u) => u.orderId === r.id))
      unadmitted.push({ userId: r.userId, key: r.idempotencyKey, orderId: r.id });
  }
  if (unadmitted.length > 0)
    out.push({
      check: 'order-without-admission',
      message: `${unadmitted.length} order(s) asked for without a valid admission token of that user`,
      evidence: { count: unadmitted.length, first: unadmitted.slice(0, 10) },
    });

  // Per shopper and epoch: their first place and its first admission seen; lost places.
  interface Place {
    userId: string;
    epoch: number;
    firstInvoke: number;
    firstAnswer: number;
    admittedAt: number | null;
    excluded: boolean;
  }
  const byUserEpoch = new Map<string, Place>();
  const admissions = new Map<number, Set<string>>();
  const lost: Record<string, unknown>[] = [];
  const history = new Map<string, { held: boolean; admittedAt: number | null; expiresAt: number | null }>();
  const ordered = all
    .filter((c) => c.f === 'join' || c.f === 'ticket')
    .sort((a, b) => (a.completed ?? a.invoked) - (b.completed ?? b.invoked));
  for (const c of ordered) {
    const userId = userOf(c);
    const epoch = epochOf(c);
    const id = `${epoch}|${userId}`;
    if (epoch < 0) {
      // A call across a loss (or in its grace): the shopper's place in the rooms after it is
      // not judged for order (the call may have made it).
      const from = losses.filter((l) => l.end + GRACE_MS < c.invoked).length + 1;
      const to = losses.filter((l) => l.start <= (c.completed ?? Number.POSITIVE_INFINITY)).length;
      for (let e = from; e <= to; e++) {
        const p = byUserEpoch.get(`${e}|${userId}`);
        if (p) p.excluded = true;
        else
          byUserEpoch.set(`${e}|${userId}`, {
            userId,
            epoch: e,
            firstInvoke: 0,
            firstAnswer: 0,
            admittedAt: null,
            excluded: true,
          });
      }
      continue;
    }
    const s = seen(c);
    const reason = (c.value as { reason?: string } | null)?.reason;
    const h = history.get(id) ?? { held: false, admittedAt: null, expiresAt: null };
    if (c.f === 'join') {
      const p = byUserEpoch.get(id);
      if (!p)
        byUserEpoch.set(id, {
          userId,
          epoch,
          firstInvoke: c.invoked,
          firstAnswer: s ? (c.completed ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY,
          admittedAt: null,
          excluded: false,
        });
      else if (s && p.firstAnswer === Number.POSITIVE_INFINITY) p.firstAnswer = c.completed ?? p.firstAnswer;
    }
    if (c.f === 'ticket' && c.type === 'fail' && reason === 'NOT_IN_QUEUE' && h.held)
      lost.push({
        userId,
        epoch,
        at: Math.round(c.completed ?? 0),
        check: 'NOT_IN_QUEUE after holding a place',
      });
    if (!s) continue;
    if (s.state === 'waiting' || s.state === 'admitted') h.held = true;
    const p = byUserEpoch.get(id);
    if (s.state === 'expired' && p && p.admittedAt === null) p.excluded = true;
    if (s.admittedAt !== null) {
      const at = s.admittedAt;
      if (
        h.admittedAt !== null &&
        h.admittedAt !== at &&
        h.expiresAt !== null &&
        wall(c.invoked) < h.expiresAt - SKEW_MS
      )
        lost.push({
          userId,
          epoch,
          at: Math.round(c.completed ?? 0),
          check: `admission changed from ${h.admittedAt} to ${at} before it expired`,
        });
      h.admittedAt = at;
      h.expiresAt = s.expiresAt;
      const set = admissions.get(epoch) ?? new Set<string>();
      set.add(`${at}|${userId}`);
      admissions.set(epoch, set);
      if (p && p.admittedAt === null) {
        p.admittedAt = at;
        // A place seen admitted a token's lifetime after the join may be a second place.
        if (wall(c.completed ?? c.invoked) >= wall(p.firstInvoke) + ttlMs) p.excluded = true;
      }
    }
    history.set(id, h);
  }
  if (lost.length > 0)
    out.push({
      check: 'place-lost',
      message: `${lost.length} shopper(s) lost their place with no Redis loss in between`,
      evidence: { count: lost.length, first: lost.slice(0, 10) },
    });

  // Line order within each epoch: answered before another was sent ⇒ admitted no later.
  const judged = [...byUserEpoch.values()].filter(
    (p) =>
      !p.excluded &&
      p.admittedAt !== null &&
      p.firstAnswer !== Number.POSITIVE_INFINITY &&
      (rules.startsAtMs === undefined || wall(p.firstInvoke) >= rules.startsAtMs + SKEW_MS),
  );
  for (let e = 0; e <= losses.length; e++) {
    const inEpoch = judged.filter((p) => p.epoch === e);
    const byAnswer = [...inEpoch].sort((a, b) => a.firstAnswer - b.firstAnswer);
    const byInvoke = [...inEpoch].sort((a, b) => a.firstInvoke - b.firstInvoke);
    let i = 0;
    let latest: Place | null = null;
    for (const b of byInvoke) {
      while (i < byAnswer.length && (byAnswer[i] as Place).firstAnswer < b.firstInvoke) {
        const a = byAnswer[i] as Place;
        if (!latest || (a.admittedAt ?? 0) > (latest.admittedAt ?? 0)) latest = a;
        i++;
      }
      if (latest && (latest.admittedAt ?? 0) > (b.admittedAt ?? 0)) {
        out.push({
          check: 'line-order',
          message: `${latest.userId} joined before ${b.userId} but was admitted ${(latest.admittedAt ?? 0) - (b.admittedAt ?? 0)} ms after`,
          evidence: { epoch: e, earlier: latest, later: b },
        });
        break;
      }
    }
  }

  if (coverage) {
    coverage.rooms = losses.length + 1;
    coverage.tokens = tokens.size;
    coverage.admissionsSeen = [...admissions.values()].reduce((n, x) => n + x.size, 0);
    coverage.placesOrdered = judged.length;
    coverage.ordersChecked = rows.length + places.filter((c) => c.type === 'ok').length;
  }

  // Admission rate within each epoch (a new room's clock knows nothing of the old one's).
  for (const [epoch, set] of admissions) {
    const times = [...set].map((x) => Number(x.slice(0, x.indexOf('|')))).sort((a, b) => a - b);
    let j = 0;
    for (let i = 0; i < times.length; i++) {
      while (j < times.length && (times[j] as number) <= (times[i] as number) + 1000) j++;
      if (j - i > rules.admitPerSecond) {
        out.push({
          check: 'admission-rate',
          message: `${j - i} admissions within 1,000 ms from ${times[i]} > admitPerSecond ${rules.admitPerSecond}`,
          evidence: { epoch, from: times[i], count: j - i, limit: rules.admitPerSecond },
        });
        break;
      }
    }
  }
  return out;
}

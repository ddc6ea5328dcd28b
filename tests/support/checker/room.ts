// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../../../packages/hot-state/src/keys.ts';
import type { OrderRow, RedisReads } from './observe.ts';

/** A queued sale's waiting room as Redis holds it (docs/architecture.md#the-waiting-room), places in line order. */
export interface RoomObservation {
  /** The admission rate the hot hash holds now. */
  admitPerSecond: number;
  cursor: number;
  places: { member: string; userId: string; admittedAtMs: number | null }[];
  /** Users with a ticket admitted at some time (their current ticket). */
  admittedUsers: string[];
}

interface RoomReads {
  zrange(key: string, start: number, stop: number): Promise<string[]>;
}

/** The room of a queued sale, or undefined for an unqueued one (or a Redis fake without zrange). */
export async function readRoom(
  r: RedisReads,
  ns: string,
  saleId: string,
): Promise<RoomObservation | undefined> {
  const k = saleKeys(ns, saleId);
  const rate = await r.hget(k.hot, 'qRate');
  const reads = r as unknown as Partial<RoomReads>;
  if (rate === null || typeof reads.zrange !== 'function') return undefined;
  const [tix, line] = await Promise.all([r.hgetall(k.qTix), reads.zrange.call(r, k.qLine, 0, -1)]);
  const places = line.map((member) => {
    const userId = member.slice(member.indexOf(':') + 1);
    const t = tix[userId] ?? '';
    const at = t.startsWith(`${member}|`) ? t.slice(member.length + 1) : '';
    return { member, userId, admittedAtMs: at ? Number(at) : null };
  });
  const admittedUsers = Object.entries(tix)
    .filter(([u, t]) => !u.startsWith('#') && !t.endsWith('|'))
    .map(([u]) => u);
  return { admitPerSecond: Number(rate), cursor: Number(tix['#cursor'] ?? 0), places, admittedUsers };
}

export type RoomViolation = { check: string; message: string; evidence: Record<string, unknown> };

/**
 * I8 from what the room and PostgreSQL hold: no order without an admission; admissions in line
 * order (everyone ranked below the cursor admitted, nobody above it, times never going back);
 * never more than `admitPerSecond` admissions within any closed 1,000 ms window.
 */
export function judgeRoom(room: RoomObservation, rows: OrderRow[], admitPerSecond?: number): RoomViolation[] {
  const out: RoomViolation[] = [];
  const admitted = new Set(room.admittedUsers);
  const unadmitted = rows.filter((r) => !admitted.has(r.userId));
  if (unadmitted.length > 0)
    out.push({
      check: 'order-without-admission',
      message: `${unadmitted.length} order(s) by users never admitted`,
      evidence: { first: unadmitted.slice(0, 10).map((r) => ({ id: r.id, userId: r.userId })) },
    });
  // A user's older place (admitted, expired, joined again) is below the cursor with no admission
  // time of its own: their ticket names the newer place.
  const lastRank = new Map(room.places.map((p, rank) => [p.userId, rank]));
  for (const [rank, p] of room.places.entries()) {
    const stale = lastRank.get(p.userId) !== rank;
    const wrong =
      (rank < room.cursor && p.admittedAtMs === null && !stale) ||
      (rank >= room.cursor && p.admittedAtMs !== null);
    if (wrong) {
      out.push({
        check: 'line-order',
        message: `place ${rank + 1} (${p.member}) is ${p.admittedAtMs === null ? 'waiting' : 'admitted'} with the cursor at ${room.cursor}`,
        evidence: { rank, member: p.member, cursor: room.cursor },
      });
      break;
    }
  }
  const times = room.places.map((p) => p.admittedAtMs).filter((t): t is number => t !== null);
  for (let i = 1; i < times.length; i++) {
    if ((times[i] as number) < (times[i - 1] as number)) {
      out.push({
        check: 'line-order',
        message: `admission ${i + 1} happened before admission ${i}`,
        evidence: { i },
      });
      break;
    }
  }
  const limit = admitPerSecond ?? room.admitPerSecond;
  const sorted = [...times].sort((a, b) => a - b);
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (j < sorted.length && (sorted[j] as number) <= (sorted[i] as number) + 1000) j++;
    if (j - i > limit) {
      out.push({
        check: 'admission-rate',
        message: `${j - i} admissions within 1,000 ms from ${sorted[i]} > admitPerSecond ${limit}`,
        evidence: { from: sorted[i], count: j - i, limit },
      });
      break;
    }
  }
  return out;
}

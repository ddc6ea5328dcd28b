import type { Ticket } from '@surge/contracts';
import { saleKeys } from '@surge/hot-state';
import type { TestClient } from './client.ts';
import { withRedis } from './inspect.ts';
import { SHARED } from './services.ts';

/** One place in a waiting room as Redis holds it (docs/architecture.md#the-waiting-room), in line order. */
export interface Place {
  member: string;
  userId: string;
  score: number;
  /** Admission time (Redis ms) of this place; null while waiting. */
  admittedAtMs: number | null;
}

/** A queued sale's waiting room, read straight from Redis: the cursor and every place in line order. */
export async function roomState(ns: string, saleId: string, redisUrl = SHARED.redis) {
  return withRedis(async (r) => {
    const k = saleKeys(ns, saleId);
    const [tix, line] = await Promise.all([r.hgetall(k.qTix), r.zrange(k.qLine, '0', '-1', 'WITHSCORES')]);
    const places: Place[] = [];
    for (let i = 0; i < line.length; i += 2) {
      const member = line[i] as string;
      const userId = member.slice(member.indexOf(':') + 1);
      const t = tix[userId] ?? '';
      const admitted = t.startsWith(`${member}|`) ? t.slice(member.length + 1) : '';
      places.push({
        member,
        userId,
        score: Number(line[i + 1]),
        admittedAtMs: admitted ? Number(admitted) : null,
      });
    }
    return { cursor: Number(tix['#cursor'] ?? 0), places };
  }, redisUrl);
}

export async function join(c: TestClient, saleId: string): Promise<Ticket> {
  const r = await c.mutate<Ticket>('queue.join', { saleId });
  if (r.status !== 200 || !r.body.result)
    throw new Error(`queue.join: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.result.data;
}

export async function ticket(c: TestClient, saleId: string): Promise<Ticket> {
  const r = await c.query<Ticket>('queue.get', { saleId });
  if (r.status !== 200 || !r.body.result) throw new Error(`queue.get: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.result.data;
}

/** Spearman's rank correlation of two equally long lists of distinct numbers. */
export function spearman(xs: number[], ys: number[]): number {
  const ranks = (v: number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    order.forEach(([, i], rank) => {
      r[i] = rank;
    });
    return r;
  };
  const rx = ranks(xs);
  const ry = ranks(ys);
  const n = xs.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += ((rx[i] as number) - (ry[i] as number)) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/** The most admissions within any closed window [t, t + 1000 ms]. */
export function maxPerSecond(times: number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (j < t.length && (t[j] as number) <= (t[i] as number) + 1000) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

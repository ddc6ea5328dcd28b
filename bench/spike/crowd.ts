/**
 * The spike bench's crowd: plain HTTP calls (undici, keep-alive) with a timeline of every
 * answer — when, which procedure, which reason — in 250 ms buckets for the picture.
 */
import { request } from 'undici';
import { agent } from '../../tests/support/client.ts';

export const BUCKET_MS = 250;

export interface Answer {
  status: number;
  reason: string;
  // biome-ignore lint/suspicious/noExplicitAny: a tRPC answer's data, whatever the procedure
  data: any;
}

/** Every answer of a run, by 250 ms bucket and reason, and latencies per procedure. */
export class Timeline {
  readonly t0 = Date.now();
  readonly buckets: Map<string, number>[] = [];
  readonly latencies = new Map<string, number[]>();
  readonly samples: { atMs: number; waiting: number; admitted: number; sold: number }[] = [];

  record(proc: string, reason: string, ms: number): void {
    const i = Math.floor((Date.now() - this.t0) / BUCKET_MS);
    while (this.buckets.length <= i) this.buckets.push(new Map());
    const b = this.buckets[i] as Map<string, number>;
    b.set(reason, (b.get(reason) ?? 0) + 1);
    const l = this.latencies.get(proc) ?? [];
    if (l.length === 0) this.latencies.set(proc, l);
    l.push(ms);
  }

  totals(): Map<string, number> {
    const t = new Map<string, number>();
    for (const b of this.buckets) for (const [r, n] of b) t.set(r, (t.get(r) ?? 0) + n);
    return t;
  }
}

export async function call(
  base: string,
  tl: Timeline | null,
  proc: string,
  kind: 'query' | 'mutation',
  input: unknown,
  cookie: string,
): Promise<Answer> {
  const started = performance.now();
  const res = await request(
    kind === 'mutation'
      ? `${base}/trpc/${proc}`
      : `${base}/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`,
    {
      method: kind === 'mutation' ? 'POST' : 'GET',
      dispatcher: agent,
      headers: { cookie, ...(kind === 'mutation' ? { 'content-type': 'application/json' } : {}) },
      body: kind === 'mutation' ? JSON.stringify(input) : undefined,
    },
  );
  const text = await res.body.text();
  let body: { result?: { data: unknown }; error?: { data?: { reason?: string } } } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // counted by status below
  }
  const reason = res.statusCode === 200 ? 'OK' : (body.error?.data?.reason ?? `HTTP ${res.statusCode}`);
  const label =
    proc === 'order.place' && reason === 'OK'
      ? (body.result?.data as { replayed?: boolean })?.replayed
        ? 'replay'
        : 'accepted'
      : reason === 'OK'
        ? proc
        : reason;
  tl?.record(proc, label, performance.now() - started);
  return { status: res.statusCode, reason, data: body.result?.data };
}

/** Runs `workers` loops in parallel until each returns. */
export async function parallel(workers: number, loop: (w: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
}

/** Spearman's ρ with ties given their average rank (here: arrival order against bought 1/0). */
export function rankCorrelation(xs: number[], ys: number[]): number {
  const midranks = (v: number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j < idx.length && idx[j]?.[0] === idx[i]?.[0]) j++;
      for (let k = i; k < j; k++) r[idx[k]?.[1] as number] = (i + j - 1) / 2;
      i = j;
    }
    return r;
  };
  const a = midranks(xs);
  const b = midranks(ys);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db2 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    num += x * y;
    da += x * x;
    db2 += y * y;
  }
  return da === 0 || db2 === 0 ? 0 : num / Math.sqrt(da * db2);
}

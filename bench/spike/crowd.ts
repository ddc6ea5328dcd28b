/**
 * The spike bench's crowd: plain HTTP calls (raw-http.ts, keep-alive) with a timeline of every
 * answer — when, which procedure, which reason — in 250 ms buckets for the picture.
 */
import { RawPool } from './raw-http.ts';

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

const pools = new Map<string, RawPool>();
const poolOf = (base: string) => {
  let p = pools.get(base);
  if (!p) {
    p = new RawPool(base);
    pools.set(base, p);
  }
  return p;
};

/** Closes the crowd's idle sockets. */
export function closeCrowd(): void {
  for (const p of pools.values()) p.close();
  pools.clear();
}

/** One tRPC call of a shopper (raw-http.ts: the client's own cost kept small), its answer read whole. */
export async function call(
  base: string,
  tl: Timeline | null,
  proc: string,
  kind: 'query' | 'mutation',
  input: unknown,
  cookie: string,
): Promise<Answer> {
  const started = performance.now();
  const json = JSON.stringify(input);
  const res =
    kind === 'mutation'
      ? await poolOf(base).request(
          'POST',
          `/trpc/${proc}`,
          `cookie: ${cookie}\r\ncontent-type: application/json\r\n`,
          json,
        )
      : await poolOf(base).request(
          'GET',
          `/trpc/${proc}?input=${encodeURIComponent(json)}`,
          `cookie: ${cookie}\r\n`,
        );
  let body: { result?: { data: unknown }; error?: { data?: { reason?: string } } } = {};
  try {
    body = JSON.parse(res.text);
  } catch {
    // counted by status below
  }
  const reason = res.status === 200 ? 'OK' : (body.error?.data?.reason ?? `HTTP ${res.status}`);
  const label =
    proc === 'order.place' && reason === 'OK'
      ? (body.result?.data as { replayed?: boolean })?.replayed
        ? 'replay'
        : 'accepted'
      : reason === 'OK'
        ? proc
        : reason;
  tl?.record(proc, label, performance.now() - started);
  return { status: res.status, reason, data: body.result?.data };
}

/**
 * The floor of the cost phase: a bare request of the same server with the same client,
 * connections, headers and body as an order — `POST /healthz`, which the server answers
 * without reading the body or anything else (200 `{"status":"ok"}`).
 */
export async function bare(
  base: string,
  tl: Timeline | null,
  input: unknown,
  cookie: string,
): Promise<number> {
  const started = performance.now();
  const res = await poolOf(base).request(
    'POST',
    '/healthz',
    `cookie: ${cookie}\r\ncontent-type: application/json\r\n`,
    JSON.stringify(input),
  );
  tl?.record('healthz', res.status === 200 ? 'floor' : `HTTP ${res.status}`, performance.now() - started);
  return res.status;
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

/**
 * The closed-loop load: autocannon (keep-alive) posting `order.place` as fast as answered, one
 * unique idempotency key per request, the users taken in turn; and what the client saw of each
 * request. The load held to a rate is bench/open-loop.ts.
 */
import { randomBytes } from 'node:crypto';
import autocannon, { type Result } from 'autocannon';
import { TestClient } from '../tests/support/client.ts';
import { ADMIN_PASSWORD, CFG } from './config.ts';

/** Creates the bench's sale through the admin API (huge stock, so SOLD_OUT never takes over). */
export async function createBenchSale(url: string): Promise<void> {
  const admin = new TestClient(url);
  await admin.loginAdmin(ADMIN_PASSWORD);
  const sale = await admin.mutate('admin.createSale', {
    id: CFG.saleId,
    name: `bench ${CFG.saleId}`,
    priceCents: 1000,
    totalStock: CFG.stock,
    perUserLimit: CFG.perUserLimit,
  });
  if (sale.status !== 200) throw new Error(`createSale: ${sale.status} ${JSON.stringify(sale.body)}`);
}

/** One signed guest cookie per user, from `session.start` (as a browser would get it). */
export async function guestCookies(url: string, n: number): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => new TestClient(url));
    await Promise.all(batch.map((c) => c.startSession()));
    for (const c of batch) {
      const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (!cookie) throw new Error('session.start set no cookie');
      out.push({ cookie });
    }
  }
  return out;
}

/** What the client saw: order ids of 2xx answers, idempotency keys sent but never answered. */
export interface Outcomes {
  accepted: Set<string>;
  unanswered: Set<string>;
}

/** One second of a load: 2xx answers and the p99 latency of the answers that second (null: none). */
export interface SecondSample {
  second: number;
  accepted: number;
  p99Ms: number | null;
}

export interface LoadOutput {
  result: Result;
  latencies: number[];
  rejections: Map<string, number>;
  /** Per second from the load's start, for the bench's picture (bench/timeline-chart.ts). */
  perSecond: SecondSample[];
}

/**
 * Runs autocannon for `durationS` as fast as the server answers (closed loop: each connection
 * sends its next request when the previous answer has arrived; for a load held to a rate see
 * bench/open-loop.ts): every request a unique idempotency key, the users taken in turn. Latencies are those of every answered request; rejections are counted by the reason in
 * the error body (`error.data.reason`), or by HTTP status when there is none. The order id of
 * every 2xx answer (`result.data.orderId`) goes into `outcomes.accepted`; the idempotency key of
 * every request without an answer (in flight when autocannon stops, timed out, connection lost)
 * stays in `outcomes.unanswered`.
 */
export function load(o: {
  url: string;
  path: string;
  userHeaders: Record<string, string>[];
  durationS: number;
  keyPrefix: string;
  outcomes: Outcomes;
}): Promise<LoadOutput> {
  const run = randomBytes(4).toString('hex');
  const latencies: number[] = [];
  const rejections = new Map<string, number>();
  const count = (reason: string) => rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
  let n = 0;
  const seconds: { accepted: number; latencies: number[] }[] = [];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.url,
        connections: CFG.connections,
        duration: o.durationS,
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: o.path,
            setupRequest: (req, context) => {
              const i = n++;
              const key = `${o.keyPrefix}-${run}-${i}`;
              // One request at a time per connection (pipelining 1): the context names it.
              context.key = key;
              o.outcomes.unanswered.add(key);
              return {
                ...req,
                headers: {
                  'content-type': 'application/json',
                  ...o.userHeaders[i % o.userHeaders.length],
                },
                body: JSON.stringify({
                  saleId: CFG.saleId,
                  quantity: 1,
                  idempotencyKey: key,
                }),
              };
            },
            onResponse: (status, body, context) => {
              o.outcomes.unanswered.delete(String(context.key));
              recordAnswer(status, body, o.outcomes, count);
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        if (result.errors > 0) rejections.set('(connection errors)', result.errors);
        if (result.timeouts > 0) rejections.set('(timeouts)', result.timeouts);
        resolve({ result, latencies, rejections, perSecond: perSecond(seconds, o.durationS) });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      latencies.push(ms);
      const i = Math.floor((performance.now() - t0) / 1000);
      let s = seconds[i];
      if (!s) {
        s = { accepted: 0, latencies: [] };
        seconds[i] = s;
      }
      if (status >= 200 && status < 300) s.accepted++;
      s.latencies.push(ms);
    });
  });
}

/**
 * What an answer says: a 2xx answer's order id goes into `outcomes.accepted`; any other answer
 * is counted by `error.data.reason` (HTTP status when there is none).
 */
export function recordAnswer(
  status: number,
  body: string,
  outcomes: Outcomes,
  count: (reason: string) => void,
): void {
  let parsed: {
    result?: { data?: { orderId?: string } };
    error?: { data?: { reason?: string } };
  };
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = {};
  }
  if (status >= 200 && status < 300) {
    const id = parsed.result?.data?.orderId;
    if (id) outcomes.accepted.add(id);
    else count('(2xx without orderId)');
    return;
  }
  count(parsed.error?.data?.reason ?? `HTTP ${status}`);
}

/** Whole seconds only (the last partial one, as the load stops, is left out); a silent second is 0. */
export function perSecond(
  seconds: { accepted: number; latencies: number[] }[],
  durationS: number,
): SecondSample[] {
  return Array.from({ length: Math.min(seconds.length, Math.floor(durationS)) }, (_, i) => {
    const s = seconds[i];
    return {
      second: i,
      accepted: s?.accepted ?? 0,
      p99Ms: s && s.latencies.length > 0 ? percentiles(s.latencies).p99 : null,
    };
  });
}

/** The median of a few figures (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0 ? Number.NaN : (sorted[Math.ceil(q * sorted.length) - 1] ?? 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

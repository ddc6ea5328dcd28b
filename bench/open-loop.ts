/**
 * The open-loop load: `order.place` requests scheduled at a fixed rate (bench/pacing.ts:
 * constant inter-arrival) and sent on any free keep-alive connection of an undici `Pool` (the
 * same number of connections as the closed loop, one request at a time per connection, the same
 * requests: signed guest cookies taken in turn, a unique idempotency key each). Each request's
 * latency runs from its SCHEDULED send time to the end of its answer, so a stall of the server
 * (or of this process) that holds requests back is counted in full, as wrk2 does (the
 * "coordinated omission" correction), instead of being hidden by requests never sent.
 *
 * Why not autocannon's `overallRate` (what the 80 % phase used before): autocannon turns it into
 * a quota per connection per second (lib/httpClient.js `_doRequest`, `rateInterval`): every
 * connection sends back to back, as fast as answered, until it has made its quota, then waits
 * for the next one-second tick. "80 %" was the maximum for ~0.8 s and then silence, and the
 * latency it measured was the maximum's queueing, not a server running at 80 % load.
 *
 * Why the pacing loop is written here: undici (already a dependency) does the HTTP, the
 * connections and keep-alive; what no client library does is send by the clock and keep each
 * request's scheduled time. That loop is a timer, a counter and a FIFO of requests that found
 * no free connection — smaller than any adapter to wrk2-style tools, which are not Node
 * libraries and could not send the bench's signed cookies and fresh keys without scripting.
 * The timer wakes at most once per millisecond (Node's timer resolution): requests due within
 * the same millisecond leave together, each measured from its own scheduled time. No busy-wait:
 * a spinning loop would take a core of the two the server has.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { CFG } from './config.ts';
import { type Outcomes, percentiles, perSecond, recordAnswer, type SecondSample } from './load.ts';
import { PacedSchedule } from './pacing.ts';

/** A request handed to a connection later than this after its scheduled time was not sent on time. */
export const LATE_MS = 2;
const TIMEOUT_MS = 10_000;
/** The first request is scheduled this long after `run` is called (the set-up's own cost stays out). */
const START_DELAY_MS = 5;

export interface OpenLoopStats {
  targetRate: number;
  /** Requests of the schedule (target × duration). */
  scheduled: number;
  /** Requests handed to a connection / duration. */
  sentPerS: number;
  /** 2xx answers that arrived within the scheduled window / its duration. */
  acceptedInWindowPerS: number;
  /** Requests handed to a connection more than LATE_MS after their scheduled time. */
  late: number;
  /** Requests that found every connection busy at their scheduled time (sent when one was free). */
  waitedForConnection: number;
  /** Scheduled time → handed to a connection, ms. */
  sendLag: { p50: number; p99: number; max: number };
  /** Most requests in flight at once, and connections the pool opened. */
  maxInFlight: number;
  connections: number;
  /** This process's CPU (user + system, all its threads) per request sent, µs, and as % of one core. */
  generatorCpuUsPerReq: number;
  generatorCpuPct: number;
  /** End of the schedule → last answer (or timeout), ms. */
  drainMs: number;
}

export interface OpenLoopOutput {
  /** The scheduled window, s. */
  durationS: number;
  /** 2xx answers to requests of the window (also those answered after it ended). */
  accepted: number;
  /** Every answered request, from its scheduled time to the end of its answer, ms. */
  latencies: number[];
  rejections: Map<string, number>;
  /** By the second the answer arrived, since the first scheduled request. */
  perSecond: SecondSample[];
  stats: OpenLoopStats;
}

/** A pool of keep-alive connections to one server, and paced runs over it. */
export class OpenLoop {
  private readonly pool: Pool;

  constructor(
    url: string,
    private readonly connections: number = CFG.connections,
  ) {
    this.pool = new Pool(url, {
      connections,
      pipelining: 1,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      keepAliveTimeout: 60_000,
    });
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }

  /**
   * Sends `rate × durationS` requests on the schedule, then waits for every answer (each
   * request times out after 10 s). Answers and keys go into `outcomes` as in bench/load.ts.
   */
  run(o: {
    path: string;
    userHeaders: Record<string, string>[];
    rate: number;
    durationS: number;
    keyPrefix: string;
    outcomes: Outcomes;
  }): Promise<OpenLoopOutput> {
    const { pool, connections } = this;
    const tag = `${o.keyPrefix}-${randomBytes(4).toString('hex')}`;
    const schedule = new PacedSchedule(o.rate, performance.now() + START_DELAY_MS, o.durationS);
    const endOfWindow = schedule.startMs + o.durationS * 1000;
    const lags = new Float64Array(schedule.total);
    const latencies: number[] = [];
    const seconds: { accepted: number; latencies: number[] }[] = [];
    const rejections = new Map<string, number>();
    const count = (reason: string) => rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
    // Requests due while every connection was busy, oldest first (a queue with a moving head).
    const waiting: number[] = [];
    let head = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let sent = 0;
    let late = 0;
    let waited = 0;
    let accepted = 0;
    let acceptedInWindow = 0;
    let lastAnswer = endOfWindow;
    const cpu0 = process.cpuUsage();

    return new Promise((resolve) => {
      const finish = () => {
        const cpu = process.cpuUsage(cpu0);
        const cpuS = (cpu.user + cpu.system) / 1e6;
        const wallS = (performance.now() - schedule.startMs) / 1000;
        const lag = Float64Array.from(lags.subarray(0, sent)).sort();
        const p = percentiles(Array.from(lag));
        resolve({
          durationS: o.durationS,
          accepted,
          latencies,
          rejections,
          perSecond: perSecond(seconds, o.durationS),
          stats: {
            targetRate: o.rate,
            scheduled: schedule.total,
            sentPerS: sent / o.durationS,
            acceptedInWindowPerS: acceptedInWindow / o.durationS,
            late,
            waitedForConnection: waited,
            sendLag: { p50: p.p50, p99: p.p99, max: lag[lag.length - 1] ?? Number.NaN },
            maxInFlight,
            connections: pool.stats.connected,
            generatorCpuUsPerReq: sent > 0 ? (cpuS * 1e6) / sent : Number.NaN,
            generatorCpuPct: (cpuS / wallS) * 100,
            drainMs: Math.max(0, lastAnswer - endOfWindow),
          },
        });
      };
      const done = () => schedule.finished && inFlight === 0 && head === waiting.length;

      const answered = (due: number, status: number | null, body: string, key: string) => {
        const end = performance.now();
        lastAnswer = Math.max(lastAnswer, end);
        if (status === null) {
          count(body);
          return;
        }
        o.outcomes.unanswered.delete(key);
        const ms = end - due;
        latencies.push(ms);
        const ok = status >= 200 && status < 300;
        if (ok) {
          accepted++;
          if (end <= endOfWindow) acceptedInWindow++;
        }
        recordAnswer(status, body, o.outcomes, count);
        const i = Math.floor((end - schedule.startMs) / 1000);
        let s = seconds[i];
        if (!s) {
          s = { accepted: 0, latencies: [] };
          seconds[i] = s;
        }
        if (ok) s.accepted++;
        s.latencies.push(ms);
      };

      const send = (i: number, now: number) => {
        const due = schedule.scheduledAt(i);
        const lag = now - due;
        lags[sent++] = lag;
        if (lag > LATE_MS) late++;
        inFlight++;
        if (inFlight > maxInFlight) maxInFlight = inFlight;
        const key = `${tag}-${i}`;
        o.outcomes.unanswered.add(key);
        void (async () => {
          try {
            const res = await pool.request({
              method: 'POST',
              path: o.path,
              headers: {
                'content-type': 'application/json',
                ...o.userHeaders[i % o.userHeaders.length],
              },
              body: JSON.stringify({ saleId: CFG.saleId, quantity: 1, idempotencyKey: key }),
            });
            answered(due, res.statusCode, await res.body.text(), key);
          } catch (err) {
            const code = (err as { code?: string }).code;
            const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
            answered(due, null, timeout ? '(timeouts)' : '(connection errors)', key);
          }
          inFlight--;
          // The connection is free: the oldest request still waiting for one takes it.
          if (head < waiting.length) send(waiting[head++] as number, performance.now());
          else if (done()) finish();
        })();
      };

      const tick = () => {
        const now = performance.now();
        const { from, to } = schedule.takeDue(now);
        for (let i = from; i < to; i++) {
          if (inFlight < connections && head === waiting.length) send(i, now);
          else {
            waiting.push(i);
            waited++;
          }
        }
        const wait = schedule.waitMs(performance.now());
        if (wait !== null) setTimeout(tick, wait);
        else if (done()) finish();
      };
      setTimeout(tick, START_DELAY_MS);
    });
  }
}

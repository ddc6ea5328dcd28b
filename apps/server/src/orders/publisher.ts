import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames, type OrderMessage } from '@surge/contracts';
import { type NatsHandle, startLoop } from '@surge/infra';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  IsolatedCircuitError,
} from 'cockatiel';

/**
 * Publishes order messages to JetStream (docs/architecture.md#publish-and-settle) and classifies
 * every outcome:
 * - `stored`: a PubAck (also `duplicate: true`: an earlier attempt was stored);
 * - `refused`: definitely nothing stored (not connected, no responders, the stream refused it,
 *   the breaker did not let the call through) → the caller releases the reservation;
 * - `unknown`: a timeout — the message may be stored; the reservation stays for the sweeper.
 * Retries reuse the same `msgID`, so JetStream's duplicate window makes them safe, and all of
 * them fit in `deadlineMs` (shorter than the reservation lease).
 */
export type PublishOutcome =
  | { kind: 'stored' }
  | { kind: 'refused'; why: string }
  | { kind: 'unknown'; why: string };

export interface PublisherOptions {
  namespace: string;
  breakerFailures: number;
  breakerHalfOpenMs: number;
  deadlineMs: number;
  /**
   * Declares the orders stream again (create-or-verify). The probe calls it when the stream is
   * gone — a JetStream that lost its store, a stream deleted by hand — which would otherwise
   * refuse every publish for good.
   */
  declareStream?: () => Promise<unknown>;
}

type PublishOptions = { msgId?: string; replayGen?: number };

/** The first half-open trial after the breaker opens (later ones back off to BREAKER_HALF_OPEN_MS). */
const HALF_OPEN_FIRST_MS = 500;

/** Room the probe wants in the stream before it lets orders through again (a few messages). */
const PROBE_ROOM_BYTES = 4096;

const NO_RESPONDERS = new Set(['JetStreamNotEnabled', 'NoRespondersError']);

/**
 * "No responders" is worth retrying for a moment (a stream leader moving), not for a whole
 * publish deadline: once this process's publishes have met "no responders" for this long — no
 * stored message, no probe finding the stream and no gap as long as this in between: a stream
 * that is gone, JetStream off — each publish that meets it is refused at once (nothing was
 * stored: the reservation is released), so the shopper hears within about a second instead of
 * after the deadline, and the breaker opens after BREAKER_FAILURES such refusals; its probe then
 * declares the stream again.
 */
export const NO_RESPONDERS_GRACE_MS = 1000;

export class OrderPublisher {
  readonly breaker;
  private readonly names;
  private isolation: { dispose: () => void } | null = null;
  private probeLoop: { stop(): Promise<void> } | null = null;
  private probeJsm: JetStreamManager | undefined;
  /**
   * The current stretch of "no responders": since when, and the last one met. It ends when a
   * publish is stored, when the probe finds the stream taking orders again, or when none has
   * been met for NO_RESPONDERS_GRACE_MS (a quiet spell, or other errors, in between).
   */
  private noResponders: { since: number; last: number } | null = null;

  constructor(
    private readonly nats: NatsHandle,
    private readonly opts: PublisherOptions,
  ) {
    this.names = natsNames(opts.namespace);
    this.breaker = circuitBreaker(handleAll, {
      // The half-open trial is the probe's read of the stream, never a shopper's order, so it
      // is tried early and then less often: 0.5 s after the breaker opens, doubling on each
      // failed trial up to BREAKER_HALF_OPEN_MS. A fixed 10 s wait held intake closed for up to
      // 10 s after an R3 stream had its leader back (the cluster fault run).
      halfOpenAfter: new ExponentialBackoff({
        initialDelay: Math.min(HALF_OPEN_FIRST_MS, opts.breakerHalfOpenMs),
        maxDelay: opts.breakerHalfOpenMs,
      }),
      breaker: new ConsecutiveBreaker(opts.breakerFailures),
    });
  }

  /**
   * Replay-only mode: no new reservation while this is false — NATS not connected, the
   * breaker open, or a half-open trial (the probe) still deciding.
   */
  acceptsNewOrders(): boolean {
    return this.nats.isConnected() && this.breaker.state === CircuitState.Closed;
  }

  /**
   * The breaker's trial calls. cockatiel leaves `open` only when a call goes through it, and
   * new orders are refused before they reach it, so an open breaker would stay open for good.
   * While the breaker is open and the connection is up, a probe goes through the breaker every
   * `probeEveryMs`; once `breakerHalfOpenMs` has passed it is the half-open trial: it asks the
   * stream's leader for the stream's state and succeeds only when the leader answers and the
   * stream has room. A success closes the breaker, so intake resumes within about
   * `breakerHalfOpenMs` of the cause going away, with or without traffic, and no shopper's
   * order is spent as a trial. (A probe, not a share of real orders: a trial order would take
   * stock and a quota slot for nothing while the cause lasts, and with no traffic the breaker,
   * /readyz and the HUD would say `open` long after the stream is back.)
   */
  startProbing(
    probeEveryMs = Math.min(250, Math.max(50, Math.floor(this.opts.breakerHalfOpenMs / 4))),
  ): void {
    // startLoop never overlaps a probe with the next one; a failed trial only restarts the wait.
    this.probeLoop ??= startLoop(
      probeEveryMs,
      () => this.probe(),
      () => undefined,
    );
  }

  async stopProbing(): Promise<void> {
    await this.probeLoop?.stop();
    this.probeLoop = null;
  }

  private async probe(): Promise<void> {
    if (this.breaker.state !== CircuitState.Open || !this.nats.isConnected()) return;
    // Before `breakerHalfOpenMs` this throws BrokenCircuitError at once; after, it is the trial.
    await this.breaker.execute(() => this.streamTakesOrders());
  }

  /** Resolves when the stream's leader answers and the stream has room for new orders. */
  private async streamTakesOrders(): Promise<void> {
    // A probe waits no longer than a publish would: during a leader election a long wait
    // would only push the next trial back.
    this.probeJsm ??= await jetstreamManager(this.nats.nc, { timeout: 2000, checkAPI: false });
    const jsm = this.probeJsm;
    const info = await jsm.streams.info(this.names.stream).catch(async (err: unknown) => {
      if ((err as Error).name !== 'StreamNotFoundError' || !this.opts.declareStream) throw err;
      await this.opts.declareStream();
      return jsm.streams.info(this.names.stream);
    });
    const max = info.config.max_bytes;
    if (max > 0 && info.state.bytes + Math.min(PROBE_ROOM_BYTES, max / 4) > max) {
      throw new Error(`stream ${this.names.stream} full: ${info.state.bytes} of ${max} bytes`);
    }
    // The stream answers: a "no responders" met from now on starts a new stretch with its grace.
    this.noResponders = null;
  }

  /** Records a "no responders" met at `now`; returns how much of the grace is left (ms). */
  private metNoResponders(now: number): number {
    let stretch = this.noResponders;
    if (!stretch || now - stretch.last > NO_RESPONDERS_GRACE_MS) stretch = { since: now, last: now };
    stretch.last = now;
    this.noResponders = stretch;
    return stretch.since + NO_RESPONDERS_GRACE_MS - now;
  }

  /** Hold the breaker open while the NATS connection is down; let it close when it is back. */
  onConnectionChange(connected: boolean): void {
    if (!connected && !this.isolation) this.isolation = this.breaker.isolate();
    if (connected && this.isolation) {
      this.isolation.dispose();
      this.isolation = null;
    }
  }

  breakerState(): 'closed' | 'open' | 'half-open' {
    const s = this.breaker.state;
    return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open';
  }

  /** A new order (or a dead-letter replay): through the breaker. */
  publish(msg: OrderMessage, opts: PublishOptions = {}): Promise<PublishOutcome> {
    return this.send(msg, opts, true);
  }

  /**
   * The sweeper's publish of a reservation that is already taken: never through the breaker.
   * A reservation must be settled — published when the stream takes it, released when the
   * stream definitely refuses it — whatever the breaker says about new orders; held back, it
   * would keep its units and its idempotency key in flight until the breaker closed.
   */
  publishOrphan(msg: OrderMessage, opts: PublishOptions = {}): Promise<PublishOutcome> {
    return this.send(msg, opts, false);
  }

  private async send(msg: OrderMessage, opts: PublishOptions, viaBreaker: boolean): Promise<PublishOutcome> {
    if (!this.nats.isConnected()) return { kind: 'refused', why: 'not connected' };
    const h = natsHeaders();
    h.set(MSG_HEADERS.epoch, String(msg.epoch));
    h.set(MSG_HEADERS.correlationId, msg.correlationId);
    if (opts.replayGen !== undefined) h.set(MSG_HEADERS.replayGen, String(opts.replayGen));
    const data = JSON.stringify(msg);
    const subject = this.names.subjectOf(msg.saleId);
    const msgID = opts.msgId ?? msg.orderId;
    const deadline = Date.now() + this.opts.deadlineMs;
    const attempts = async () => {
      let last: unknown;
      let maybeStored = false;
      for (let attempt = 0; ; attempt++) {
        const left = deadline - Date.now();
        if (left < 50) throw new PublishTimeout(last, maybeStored);
        try {
          await this.nats.js.publish(subject, data, { msgID, headers: h, timeout: Math.min(left, 2000) });
          this.noResponders = null;
          return { kind: 'stored' } as const;
        } catch (err) {
          last = err;
          const name = (err as Error).name;
          // Refusals by the stream itself are final; timeouts and missing responders
          // (a stream leader moving) are worth another try within the deadline.
          if (name === 'JetStreamApiError') throw err;
          // A timeout may hide a stored message; "no responders" means nobody got it.
          let wait = 25 * 2 ** attempt;
          if (!NO_RESPONDERS.has(name)) maybeStored = true;
          else {
            const graceLeft = this.metNoResponders(Date.now());
            if (graceLeft <= 0 && !maybeStored) throw err;
            wait = Math.min(wait, Math.max(10, graceLeft));
          }
          if (!this.nats.isConnected()) throw new NotConnected(err, maybeStored);
          await sleep(Math.min(wait, Math.max(0, deadline - Date.now() - 50)));
        }
      }
    };
    try {
      return viaBreaker ? await this.breaker.execute(attempts) : await attempts();
    } catch (err) {
      return classify(err);
    }
  }
}

class PublishTimeout extends Error {
  override name = 'PublishTimeout';
  constructor(
    cause: unknown,
    readonly maybeStored: boolean,
  ) {
    super('publish deadline passed', { cause });
  }
}
class NotConnected extends Error {
  override name = 'NotConnected';
  constructor(
    cause: unknown,
    readonly maybeStored: boolean,
  ) {
    super('NATS connection lost', { cause });
  }
}

function classify(err: unknown): PublishOutcome {
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
    return { kind: 'refused', why: 'breaker open' };
  }
  const e = err as Error & { cause?: unknown };
  if (e.name === 'JetStreamApiError') return { kind: 'refused', why: e.message };
  if (err instanceof PublishTimeout || err instanceof NotConnected) {
    // Only when no attempt could have reached the stream is the failure definite.
    if (!err.maybeStored)
      return { kind: 'refused', why: (e.cause as Error | undefined)?.message ?? e.message };
    return { kind: 'unknown', why: e.message };
  }
  if (NO_RESPONDERS.has(e.name)) return { kind: 'refused', why: 'no responders' };
  return { kind: 'unknown', why: e.message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

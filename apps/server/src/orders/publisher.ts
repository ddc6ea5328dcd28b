import { headers as natsHeaders } from '@nats-io/transport-node';
import { MSG_HEADERS, natsNames, type OrderMessage } from '@surge/contracts';
import type { NatsHandle } from '@surge/infra';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  IsolatedCircuitError,
} from 'cockatiel';

/**
 * Publishes order messages to JetStream (SPEC §4 step 2) and classifies every outcome:
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
}

const NO_RESPONDERS = new Set(['JetStreamNotEnabled', 'NoRespondersError']);

export class OrderPublisher {
  readonly breaker;
  private readonly names;
  private isolation: { dispose: () => void } | null = null;

  constructor(
    private readonly nats: NatsHandle,
    private readonly opts: PublisherOptions,
  ) {
    this.names = natsNames(opts.namespace);
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: opts.breakerHalfOpenMs,
      breaker: new ConsecutiveBreaker(opts.breakerFailures),
    });
  }

  /** Replay-only mode of SPEC §4 step 1: no new reservation while this is false. */
  acceptsNewOrders(): boolean {
    const s = this.breaker.state;
    return this.nats.isConnected() && s !== CircuitState.Open && s !== CircuitState.Isolated;
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

  async publish(
    msg: OrderMessage,
    opts: { msgId?: string; replayGen?: number } = {},
  ): Promise<PublishOutcome> {
    if (!this.nats.isConnected()) return { kind: 'refused', why: 'not connected' };
    const h = natsHeaders();
    h.set(MSG_HEADERS.epoch, String(msg.epoch));
    h.set(MSG_HEADERS.correlationId, msg.correlationId);
    if (opts.replayGen !== undefined) h.set(MSG_HEADERS.replayGen, String(opts.replayGen));
    const data = JSON.stringify(msg);
    const subject = this.names.subjectOf(msg.saleId);
    const msgID = opts.msgId ?? msg.orderId;
    const deadline = Date.now() + this.opts.deadlineMs;
    try {
      return await this.breaker.execute(async () => {
        let last: unknown;
        let maybeStored = false;
        for (let attempt = 0; ; attempt++) {
          const left = deadline - Date.now();
          if (left < 50) throw new PublishTimeout(last, maybeStored);
          try {
            await this.nats.js.publish(subject, data, { msgID, headers: h, timeout: Math.min(left, 2000) });
            return { kind: 'stored' } as const;
          } catch (err) {
            last = err;
            const name = (err as Error).name;
            // Refusals by the stream itself are final; timeouts and missing responders
            // (a stream leader moving) are worth another try within the deadline.
            if (name === 'JetStreamApiError') throw err;
            // A timeout may hide a stored message; "no responders" means nobody got it.
            if (!NO_RESPONDERS.has(name)) maybeStored = true;
            if (!this.nats.isConnected()) throw new NotConnected(err, maybeStored);
            await sleep(Math.min(25 * 2 ** attempt, Math.max(0, deadline - Date.now() - 50)));
          }
        }
      });
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

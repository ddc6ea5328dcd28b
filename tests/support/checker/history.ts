/**
 * A history of calls as a Jepsen-style checker reads it: every call is an `invoke` event,
 * later followed by exactly one completion — `ok` (it happened, with its result), `fail` (it
 * definitely did not happen, with the reason) or `info` (indeterminate: it may or may not
 * have happened). A call never completed counts as `info`.
 *
 * docs/architecture.md#invariants: an `order.place` answer is definite when it is a success or a
 * named 4xx/503 other than OUTCOME_UNKNOWN; OUTCOME_UNKNOWN, a timeout or a dropped connection is
 * indeterminate.
 */

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/** What `order.place` was asked: `userId` when the caller knows it (scopes the key, I4). */
export interface PlaceInput {
  saleId: string;
  quantity: number;
  idempotencyKey: string;
  userId?: string;
  /** Queued sales: the token a `join` / `ticket` answer gave the caller once admitted. */
  admissionToken?: string;
}
/** A waiting-room call (`queue.join` is `join`, `queue.get` is `ticket`): whose place in which sale. */
export interface RoomInput {
  saleId: string;
  userId?: string;
}
export interface PlaceResult {
  orderId: string;
  replayed?: boolean;
}

/** The operations the checker understands; others are recorded and ignored. */
export type Op =
  | { f: 'place'; value: PlaceInput }
  | { f: 'pause'; value: { saleId: string } }
  | { f: 'resume'; value: { saleId: string } }
  | { f: 'restock'; value: { saleId: string; quantity: number } }
  | { f: 'flush'; value: { saleId: string } }
  | { f: 'createSale'; value: { id: string } }
  | { f: 'join'; value: RoomInput }
  | { f: 'ticket'; value: RoomInput };

export interface HistoryEvent {
  /** Position in the history: events are totally ordered by it. */
  index: number;
  /** Which operation this event belongs to (the index of its `invoke`). */
  op: number;
  type: EventType;
  /** The client that made the call (a shopper, an admin, a load-generator connection). */
  process: string;
  f: string;
  /** invoke: the input; ok: the result; fail / info: `{ reason }`. */
  value: unknown;
  /** ms since the history began (monotonic). */
  time: number;
}

/** One call, invoke and completion together (`completion` absent: never completed). */
export interface Operation {
  op: number;
  process: string;
  f: string;
  input: unknown;
  invokedAt: number;
  completion?: { type: Exclude<EventType, 'invoke'>; value: unknown; index: number; time: number };
}

export type Completion =
  | { type: 'ok'; value: unknown }
  | { type: 'fail'; reason: string }
  | { type: 'info'; reason: string };

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly started = performance.now();
  /** Wall-clock ms at the history's time 0 (admission tokens expire on the wall clock). */
  readonly wallStartMs = Date.now();
  private readonly open = new Set<number>();

  private push(e: Omit<HistoryEvent, 'index' | 'time'>): HistoryEvent {
    const event = { ...e, index: this.events.length, time: performance.now() - this.started };
    this.events.push(event);
    return event;
  }

  /** Records the start of a call; complete it with the returned handle. */
  invoke<O extends Op>(process: string, f: O['f'], value: O['value']) {
    const op = this.events.length;
    this.push({ op, type: 'invoke', process, f, value });
    this.open.add(op);
    const complete = (c: Completion) => {
      if (!this.open.delete(op)) throw new Error(`operation ${op} completed twice`);
      this.push({ op, type: c.type, process, f, value: c.type === 'ok' ? c.value : { reason: c.reason } });
    };
    return {
      op,
      ok: (result: unknown) => complete({ type: 'ok', value: result }),
      fail: (reason: string) => complete({ type: 'fail', reason }),
      info: (reason: string) => complete({ type: 'info', reason }),
      complete,
    };
  }

  /**
   * Runs `call` between its invoke and its completion: `classify` turns the answer into one; a
   * thrown error (no answer) is `info`. Returns the answer (or rethrows).
   */
  async record<O extends Op, T>(
    process: string,
    op: O,
    call: () => Promise<T>,
    classify: (answer: T) => Completion,
  ): Promise<T> {
    const h = this.invoke<O>(process, op.f, op.value);
    try {
      const answer = await call();
      h.complete(classify(answer));
      return answer;
    } catch (err) {
      h.info(`no answer: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  /** Each call with its completion, in invoke order. */
  operations(): Operation[] {
    return pairOperations(this.events);
  }
}

export function pairOperations(events: readonly HistoryEvent[]): Operation[] {
  const ops = new Map<number, Operation>();
  for (const e of events) {
    if (e.type === 'invoke') {
      ops.set(e.op, { op: e.op, process: e.process, f: e.f, input: e.value, invokedAt: e.index });
      continue;
    }
    const o = ops.get(e.op);
    if (!o) throw new Error(`history: ${e.type} at ${e.index} completes no invoked operation (${e.op})`);
    if (o.completion) throw new Error(`history: operation ${e.op} completed twice`);
    o.completion = { type: e.type, value: e.value, index: e.index, time: e.time };
  }
  return [...ops.values()];
}

/**
 * An `order.place` answer over HTTP (tRPC's JSON) as a completion: 200 with an order id is
 * `ok`; a named 4xx, or a 503 other than OUTCOME_UNKNOWN, is `fail`; anything else (an
 * unknown outcome, another 5xx, no reason) is `info`.
 */
export function placeCompletion(answer: {
  status: number;
  body: { result?: { data?: unknown }; error?: { data?: { reason?: string } } };
}): Completion {
  const data = answer.body.result?.data as Partial<PlaceResult> | undefined;
  if (answer.status === 200 && typeof data?.orderId === 'string')
    return { type: 'ok', value: { orderId: data.orderId, replayed: data.replayed } };
  const reason = answer.body.error?.data?.reason;
  if (reason && reason !== 'OUTCOME_UNKNOWN' && (answer.status < 500 || answer.status === 503))
    return { type: 'fail', reason };
  return { type: 'info', reason: reason ?? `HTTP ${answer.status}` };
}

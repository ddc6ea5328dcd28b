import type { JsMsg } from '@nats-io/jetstream';

/**
 * A bounded hand-off between the JetStream iterator and the batch loop: the pump waits for
 * room before taking the next message, so a slow batch (a long payment, PostgreSQL down)
 * stops the pulling instead of buffering without bound.
 */
export class MessageQueue {
  private items: JsMsg[] = [];
  private wakeTaker: (() => void) | null = null;
  private wakePump: (() => void) | null = null;
  private waitingFor: { n: number; wake: () => void } | null = null;
  private closedFlag = false;

  constructor(private readonly capacity: number) {}

  /** Closed: take() no longer waits, and nothing more comes in. */
  get closed(): boolean {
    return this.closedFlag;
  }

  get size(): number {
    return this.items.length;
  }

  async push(m: JsMsg): Promise<void> {
    this.items.push(m);
    this.wakeTaker?.();
    if (this.waitingFor && this.items.length >= this.waitingFor.n) this.wakeWaiting();
    while (!this.closedFlag && this.items.length >= this.capacity) {
      await new Promise<void>((r) => {
        this.wakePump = r;
      });
    }
  }

  /**
   * Up to `max` messages; waits for at least one unless closed (then returns what is left).
   * With `lingerMs`, a batch that is not full yet waits up to that long for more: a worker that
   * keeps up with the intake then runs a few larger batches instead of many tiny ones.
   */
  async take(max: number, lingerMs = 0): Promise<JsMsg[]> {
    while (!this.closedFlag && this.items.length === 0) {
      await new Promise<void>((r) => {
        this.wakeTaker = r;
      });
    }
    if (lingerMs > 0 && !this.closedFlag && this.items.length < max) {
      const until = Date.now() + lingerMs;
      for (
        let left = lingerMs;
        left > 0 && !this.closedFlag && this.items.length < max;
        left = until - Date.now()
      ) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left);
          this.wakeTaker = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
    }
    this.wakeTaker = null;
    const batch = this.items.splice(0, max);
    this.wakePump?.();
    return batch;
  }

  /**
   * Resolves once `n` messages wait here (or the queue is closed). One waiter at a time: a new
   * call replaces the previous one, which then never resolves.
   */
  whenHolding(n: number): Promise<void> {
    if (this.closedFlag || this.items.length >= n) return Promise.resolve();
    return new Promise<void>((wake) => {
      this.waitingFor = { n, wake };
    });
  }

  private wakeWaiting(): void {
    const w = this.waitingFor;
    this.waitingFor = null;
    w?.wake();
  }

  /** Messages held but not yet taken (to keep their ack deadlines alive). */
  held(): JsMsg[] {
    return this.items;
  }

  close(): void {
    this.closedFlag = true;
    this.wakeTaker?.();
    this.wakeWaiting();
    this.wakePump?.();
  }
}

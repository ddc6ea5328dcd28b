/**
 * The schedule of an open-loop load (bench/open-loop.ts): request i is due at
 * `startMs + i × 1000 / rate`, constant inter-arrival (wrk2's choice, not Poisson: the gaps are
 * the same every run, so what moves the latency is the server, not the draw), for `durationS`.
 * Pure and clock-free — the caller passes the time — so the schedule can be tested without
 * timers. Times are `performance.now()` milliseconds.
 */
export class PacedSchedule {
  /** Requests the schedule holds: ⌊rate × duration⌋. */
  readonly total: number;
  readonly intervalMs: number;
  /** Index of the next request not yet taken. */
  private next = 0;

  constructor(
    readonly ratePerS: number,
    readonly startMs: number,
    readonly durationS: number,
  ) {
    if (!(ratePerS > 0) || !Number.isFinite(ratePerS)) throw new Error(`rate must be > 0, got ${ratePerS}`);
    if (!(durationS > 0)) throw new Error(`duration must be > 0, got ${durationS}`);
    this.intervalMs = 1000 / ratePerS;
    this.total = Math.floor(ratePerS * durationS);
  }

  /** When request `i` is due (its latency is measured from here, sent on time or not). */
  scheduledAt(i: number): number {
    return this.startMs + i * this.intervalMs;
  }

  /**
   * Takes every request due at `nowMs` and not taken yet: indices `[from, to)` (empty when none
   * is due). A caller that woke late gets all the requests it missed at once — none is dropped,
   * each keeps its own scheduled time.
   */
  takeDue(nowMs: number): { from: number; to: number } {
    const from = this.next;
    // Request i is due when startMs + i × interval ≤ now; the +1 turns the last due index
    // into an exclusive bound. The epsilon keeps i × interval from missing by a rounding error.
    const due = Math.floor((nowMs - this.startMs) / this.intervalMs + 1e-9) + 1;
    const to = Math.min(this.total, Math.max(from, due));
    this.next = to;
    return { from, to };
  }

  /** Milliseconds from `nowMs` until the next request is due (0: already due), null when all are taken. */
  waitMs(nowMs: number): number | null {
    if (this.next >= this.total) return null;
    return Math.max(0, this.scheduledAt(this.next) - nowMs);
  }

  /** True once every request of the schedule has been taken. */
  get finished(): boolean {
    return this.next >= this.total;
  }
}

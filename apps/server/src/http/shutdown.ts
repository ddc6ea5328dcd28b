/**
 * A graceful shutdown, once begun: `/readyz` answers 503, answers carry `Connection: close`,
 * the heartbeat says `stopping` and every live subscription ends.
 */
export class Shutdown {
  private readonly controller = new AbortController();
  /** How to stop each live subscription: removed when it ends, all run when shutdown begins. */
  private readonly live = new Set<() => void>();

  get begun(): boolean {
    return this.controller.signal.aborted;
  }

  /** Subscriptions whose signal has not fired yet (the `subscription-signals` test). */
  get openSubscriptions(): number {
    return this.live.size;
  }

  begin(): void {
    this.controller.abort();
    for (const stop of [...this.live]) stop();
  }

  /**
   * A subscription ends with its request, with any of `more` (a revoked admin session), or with
   * the process (graceful shutdown). Not `AbortSignal.any([request, processSignal])`: on Node 24
   * every composite signal of a long-lived source leaves memory behind (~40–80 bytes per
   * subscription after GC, the `subscription-signals` test; issue 10 L7). Here the long-lived
   * side holds one entry per open subscription, and both listeners go once it ends.
   */
  subscriptionSignal(request: AbortSignal | undefined, ...more: AbortSignal[]): AbortSignal {
    const sources = request ? [request, ...more] : more;
    if (sources.length === 0) return this.controller.signal;
    const c = new AbortController();
    if (this.begun || sources.some((s) => s.aborted)) {
      c.abort();
      return c.signal;
    }
    const stop = () => {
      this.live.delete(stop);
      for (const s of sources) s.removeEventListener('abort', stop);
      c.abort();
    };
    this.live.add(stop);
    for (const s of sources) s.addEventListener('abort', stop, { once: true });
    return c.signal;
  }
}

/**
 * A graceful shutdown, once begun: `/readyz` answers 503, answers carry `Connection: close`,
 * the heartbeat says `stopping` and every live subscription ends.
 */
export class Shutdown {
  private readonly controller = new AbortController();

  get begun(): boolean {
    return this.controller.signal.aborted;
  }

  begin(): void {
    this.controller.abort();
  }

  /** A subscription ends with its request or with the process (graceful shutdown). */
  subscriptionSignal(request: AbortSignal | undefined): AbortSignal {
    return request ? AbortSignal.any([request, this.controller.signal]) : this.controller.signal;
  }
}

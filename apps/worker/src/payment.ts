/**
 * The simulated payment provider (`PAYMENT_FAILURE_RATE`, `PAYMENT_LATENCY_MS`). The decision
 * is random per attempt on purpose: exactly-once comes from the conditional update that stores
 * the first decision, not from the provider being deterministic.
 */
export interface PaymentOutcome {
  status: 'CONFIRMED' | 'FAILED_PAYMENT';
  reason: string | null;
}

export function createPaymentSimulator(opts: {
  failureRate: number;
  latencyMs: number;
  random?: () => number;
}) {
  const random = opts.random ?? Math.random;
  return {
    latencyMs: opts.latencyMs,
    decide(): PaymentOutcome {
      return random() < opts.failureRate
        ? { status: 'FAILED_PAYMENT', reason: 'card declined (simulated)' }
        : { status: 'CONFIRMED', reason: null };
    },
  };
}

import type { OrderStatus } from '@surge/contracts';
import { RefreshCw, TriangleAlert } from 'lucide-react';
import { type Failure, messageFor } from '../../lib/errors.ts';
import { RETRYABLE_REASONS } from '../../lib/purchase-intent.ts';
import type { Phase, TrackedOrder } from '../../lib/use-purchase.ts';
import { StatusBadge } from './status-badge.tsx';

const STATUS_TEXT: Record<OrderStatus, string> = {
  PENDING: 'Reserved for you — confirming payment…',
  CONFIRMED: 'Confirmed. It is yours!',
  FAILED_PAYMENT: 'Payment failed — the units went back to stock.',
  FAILED: 'The order could not be completed.',
};

interface Props {
  order: TrackedOrder | null;
  failure: Failure | null;
  phase: Phase;
}

/** The current purchase: the order's live status, or why it was refused, or that we retry. */
export function OrderPanel({ order, failure, phase }: Props) {
  if (!order && !failure && phase === 'idle') return null;
  const retrying = phase === 'retrying' && failure !== null;
  // Automatic retries ran out: pressing Buy again reuses the same key, so it cannot buy twice.
  const gaveUp = failure !== null && !retrying && RETRYABLE_REASONS.has(failure.reason);
  return (
    <section className="panel order-panel" aria-live="polite" aria-label="Your purchase">
      {order ? (
        <div className="order-current">
          <div className="order-line">
            <StatusBadge status={order.status} data-testid="order-status" />
            <span className="order-id">
              Order <code data-testid="order-id">{order.orderId}</code>
            </span>
          </div>
          <p className="order-text">
            {STATUS_TEXT[order.status]}
            {order.failureReason ? ` (${order.failureReason})` : ''}
            {order.replayed && order.status === 'PENDING' ? ' Already placed — this is the same order.' : ''}
          </p>
        </div>
      ) : null}
      {phase === 'placing' && !failure ? <p className="order-text muted">Placing your order…</p> : null}
      {failure ? (
        <div className={`order-failure${retrying ? ' is-retrying' : ''}`}>
          {retrying ? (
            <RefreshCw size={16} className="spin" aria-hidden />
          ) : (
            <TriangleAlert size={16} aria-hidden />
          )}
          <p data-testid="order-message">
            {messageFor(failure.reason)}
            {retrying ? ' retrying…' : ''}
            {gaveUp ? ' Press Buy to try again — it continues the same order, never a second one.' : ''}
          </p>
          <code className="reason-code" data-testid="order-reason">
            {failure.reason}
          </code>
        </div>
      ) : null}
    </section>
  );
}

import type { OrderView } from '@surge/contracts';
import { formatDateTime } from '../../lib/format.ts';
import { StatusBadge } from './status-badge.tsx';

/** The shopper's orders for this sale, newest first (order.mine). */
export function MyOrders({ orders, loading }: { orders: OrderView[] | undefined; loading: boolean }) {
  return (
    <section className="panel" aria-labelledby="my-orders-title">
      <h2 id="my-orders-title" className="panel-title">
        My orders
      </h2>
      <div data-testid="my-orders">
        {loading ? <p className="muted">Loading…</p> : null}
        {!loading && (orders?.length ?? 0) === 0 ? <p className="muted">No orders yet.</p> : null}
        {orders && orders.length > 0 ? (
          <ul className="order-list">
            {orders.map((o) => (
              <li key={o.orderId} className="order-row" data-order-id={o.orderId}>
                <StatusBadge status={o.status} />
                <span className="num">×{o.quantity}</span>
                <code className="order-row-id" title={o.orderId}>
                  {o.orderId.slice(0, 8)}
                </code>
                <span className="muted order-row-time">{formatDateTime(o.createdAt)}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </section>
  );
}

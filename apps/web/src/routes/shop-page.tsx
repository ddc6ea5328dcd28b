import type { SaleState } from '@surge/contracts';
import { skipToken, useQuery } from '@tanstack/react-query';
import { LoaderCircle, ShoppingCart, Wifi, WifiOff } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Brand } from '../components/brand.tsx';
import { Countdown } from '../components/shop/countdown.tsx';
import { MyOrders } from '../components/shop/my-orders.tsx';
import { OrderPanel } from '../components/shop/order-panel.tsx';
import { parseQuantity, QuantityField } from '../components/shop/quantity-field.tsx';
import { StateNotice } from '../components/shop/state-notice.tsx';
import { StockBar } from '../components/shop/stock-bar.tsx';
import { WaitingRoomPanel } from '../components/shop/waiting-room.tsx';
import { messageFor } from '../lib/errors.ts';
import { formatPrice } from '../lib/format.ts';
import { STATE_LABELS } from '../lib/sale-view.ts';
import { ensureSession, onCheckingBrowser } from '../lib/session.ts';
import { trpc } from '../lib/trpc.ts';
import { usePurchase } from '../lib/use-purchase.ts';
import { useShopSale } from '../lib/use-shop-sale.ts';
import { useWaitingRoom } from '../lib/use-waiting-room.ts';

const BUY_LABELS: Record<Exclude<SaleState, 'live'>, string> = {
  scheduled: 'Starts soon',
  paused: 'Paused',
  soldout: 'Sold out',
  ended: 'Sale ended',
  rebuilding: 'Restoring…',
};

/** `/`: one sale, its live stock and countdown, and a Buy button that never buys twice. */
export function ShopPage() {
  const [sessionReady, setSessionReady] = useState(false);
  // A proof of work longer than ~300 ms shows a short notice; a quicker one stays invisible.
  const [checking, setChecking] = useState(false);
  useEffect(() => onCheckingBrowser(setChecking), []);
  useEffect(() => {
    ensureSession().then(
      () => setSessionReady(true),
      () => setSessionReady(false), // order.place will say NO_SESSION and start one again
    );
  }, []);

  const { sale, offsetMs, loading, failure, reconnecting } = useShopSale();
  const room = useWaitingRoom(sale, sessionReady);
  const admitted = !room.queued || room.ticket?.state === 'admitted';
  const purchase = usePurchase(sale?.id ?? null, sessionReady, room.ticket?.admissionToken ?? null);
  const [qtyText, setQtyText] = useState(() => String(purchase.quantity));
  const mine = useQuery(trpc.order.mine.queryOptions(sale && sessionReady ? { saleId: sale.id } : skipToken));

  const maxQty = Math.max(1, Math.min(100, sale?.perUserLimit ?? 1));
  const quantity = parseQuantity(qtyText, maxQty);
  const onText = (text: string) => {
    setQtyText(text);
    const q = parseQuantity(text, maxQty);
    if (q !== null) purchase.setQuantity(q);
  };
  const busy = purchase.phase !== 'idle';
  const canBuy = sale?.state === 'live' && admitted && quantity !== null && !busy;
  const buyLabel =
    purchase.phase === 'retrying'
      ? 'Retrying…'
      : busy
        ? 'Placing…'
        : sale && sale.state !== 'live'
          ? BUY_LABELS[sale.state]
          : admitted
            ? 'Buy now'
            : 'Waiting for your turn';

  return (
    <div className="page shop">
      <header className="topbar">
        <Brand suffix="flash sale" />
        <span className="link-state" data-live={!reconnecting}>
          {reconnecting ? <WifiOff size={16} aria-hidden /> : <Wifi size={16} aria-hidden />}
          {reconnecting ? 'reconnecting…' : 'live'}
        </span>
      </header>
      <main className="shop-main">
        {checking && (
          <p className="muted checking-browser" role="status">
            <LoaderCircle className="spin" size={16} aria-hidden /> Checking your browser…
          </p>
        )}
        {!sale ? (
          <section className="panel product empty">
            {loading ? (
              <p className="muted">
                <LoaderCircle className="spin" size={18} aria-hidden /> Loading the sale…
              </p>
            ) : (
              <p>{failure ? messageFor(failure.reason) : 'No sale right now. Check back soon!'}</p>
            )}
          </section>
        ) : (
          <section className="panel product" aria-labelledby="sale-name">
            <div className="product-head">
              <span className="state-chip" data-state={sale.state} title={STATE_LABELS[sale.state]}>
                <span className="dot" aria-hidden />
                <span data-testid="sale-state">{sale.state}</span>
              </span>
              <h1 id="sale-name" className="product-name" data-testid="sale-name">
                {sale.name}
              </h1>
            </div>
            <p className="price num" data-testid="sale-price">
              {formatPrice(sale.priceCents)}
            </p>
            <Countdown sale={sale} offsetMs={offsetMs} />
            <StockBar remaining={sale.remaining} total={sale.totalStock} />
            <StateNotice state={sale.state} />
            {room.queued ? (
              <WaitingRoomPanel
                ticket={room.ticket}
                firstPosition={room.firstPosition}
                startsAt={sale.startsAt}
                offsetMs={offsetMs}
                onRejoin={room.rejoin}
              />
            ) : null}
            <div className="buy-row">
              <QuantityField text={qtyText} max={maxQty} disabled={busy} onText={onText} />
              <button
                type="button"
                className="btn btn-buy"
                data-testid="buy-button"
                disabled={!canBuy}
                aria-busy={busy}
                onClick={() => void purchase.buy()}
              >
                {busy ? (
                  <LoaderCircle size={20} className="spin" aria-hidden />
                ) : (
                  <ShoppingCart size={20} aria-hidden />
                )}
                {buyLabel}
              </button>
            </div>
          </section>
        )}
        <div className="shop-side">
          <OrderPanel order={purchase.order} failure={purchase.failure} phase={purchase.phase} />
          {sale ? <MyOrders orders={mine.data} loading={mine.isPending && sessionReady} /> : null}
        </div>
      </main>
    </div>
  );
}

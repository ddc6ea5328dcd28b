import type { Sale } from '@surge/contracts';
import { ShoppingCart } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { trpc } from './trpc.ts';

/**
 * The first slice of the shop page: the current sale and a Buy button with one idempotency
 * key per purchase intent. The live page (stock bar, countdown, status stream) comes with
 * the HUD issue.
 */
export function ShopPage() {
  const [sale, setSale] = useState<Sale | null>(null);
  const [message, setMessage] = useState('');
  const intent = useRef<string | null>(null);

  useEffect(() => {
    void trpc.session.start.mutate({});
    void trpc.sale.list.query().then((list) => setSale(list.find((s) => s.state !== 'ended') ?? null));
  }, []);

  async function buy() {
    if (!sale) return;
    intent.current ??= crypto.randomUUID();
    try {
      const r = await trpc.order.place.mutate({
        saleId: sale.id,
        quantity: 1,
        idempotencyKey: intent.current,
      });
      setMessage(`Order ${r.orderId.slice(0, 8)}: ${r.status}`);
      intent.current = null;
      setSale(await trpc.sale.get.query({ saleId: sale.id }));
    } catch (err) {
      setMessage((err as Error).message);
    }
  }

  if (!sale) return <main>No sale right now.</main>;
  return (
    <main>
      <h1>{sale.name}</h1>
      <p>
        ${(sale.priceCents / 100).toFixed(2)} · {sale.remaining} / {sale.totalStock} left · {sale.state}
      </p>
      <button type="button" onClick={buy} disabled={sale.state !== 'live'}>
        <ShoppingCart size={16} aria-hidden /> Buy
      </button>
      <p role="status">{message}</p>
    </main>
  );
}

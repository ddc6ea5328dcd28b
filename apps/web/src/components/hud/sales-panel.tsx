import type { HudSale } from '@surge/contracts';
import { RefreshCcw, ShoppingBag } from 'lucide-react';
import { formatCount } from '../../lib/format.ts';
import { trpcClient } from '../../lib/trpc.ts';
import { useControl } from './control.tsx';
import { SaleRow } from './sale-row.tsx';

/** Every sale with its live stock, and "flush all". */
export function SalesPanel({ sales }: { sales: HudSale[] | null }) {
  const { request } = useControl();
  return (
    <section className="panel" aria-labelledby="sales-title">
      <div className="panel-head">
        <h2 id="sales-title" className="panel-title">
          <ShoppingBag size={18} aria-hidden /> Sales <span className="muted num">{sales?.length ?? 0}</span>
        </h2>
        <button
          type="button"
          className="btn btn-sm btn-danger-ghost"
          data-testid="flush-all"
          onClick={() =>
            request({
              title: 'Flush every sale’s cache?',
              detail:
                'Drops the hot state of ALL sales in Redis and rebuilds each from PostgreSQL. Buying pauses everywhere while it rebuilds.',
              confirmLabel: 'Flush all',
              danger: true,
              run: async () => {
                const r = await trpcClient.admin.flushCache.mutate({});
                return r.sales.length === 0
                  ? 'Nothing to rebuild'
                  : `Rebuilt ${r.sales.map((s) => `${s.saleId} (${formatCount(s.remaining)} left)`).join(', ')}`;
              },
            })
          }
        >
          <RefreshCcw size={15} aria-hidden /> Flush all
        </button>
      </div>
      {sales === null ? <p className="muted">Waiting for the first frame…</p> : null}
      {sales?.length === 0 ? <p className="muted">No sales yet — create one below.</p> : null}
      <ul className="sale-list">
        {sales?.map((s) => (
          <SaleRow key={s.id} sale={s} />
        ))}
      </ul>
    </section>
  );
}

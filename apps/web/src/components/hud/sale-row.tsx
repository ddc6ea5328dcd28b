import type { HudSale } from '@surge/contracts';
import { PackagePlus, Pause, Play, RefreshCcw } from 'lucide-react';
import { useState } from 'react';
import { formatCount, formatDateTime, formatPrice } from '../../lib/format.ts';
import { stockPercent } from '../../lib/sale-view.ts';
import { trpcClient } from '../../lib/trpc.ts';
import { useControl } from './control.tsx';
import { QueueFacts } from './queue-facts.tsx';
import { ReconcileBadge } from './reconcile-badge.tsx';

/** One sale on the HUD: live stock and rates, and its controls (each confirmed first). */
export function SaleRow({ sale }: { sale: HudSale }) {
  const { request } = useControl();
  const [qty, setQty] = useState('100');
  const id = sale.id;
  const restockQty = Number(qty);
  const restockValid = Number.isInteger(restockQty) && restockQty >= 1 && restockQty <= 1_000_000;
  const pct = stockPercent(sale);

  return (
    <li className="sale-row" data-testid={`sale-row-${id}`} data-state={sale.state}>
      <div className="sale-row-head">
        <div className="sale-row-title">
          <strong>{sale.name}</strong>
          <code className="muted">{id}</code>
        </div>
        <span className="state-chip" data-state={sale.state}>
          <span className="dot" aria-hidden />
          <span data-testid={`sale-state-${id}`}>{sale.state}</span>
        </span>
      </div>
      <div className="sale-row-stock">
        <div className="bar" data-level={pct === 0 ? 'empty' : pct < 10 ? 'low' : 'ok'} aria-hidden>
          <div className="bar-fill" style={{ width: `${pct}%` }} />
        </div>
        <span className="num" data-testid={`sale-remaining-${id}`}>
          {formatCount(sale.remaining)} / {formatCount(sale.totalStock)}
        </span>
      </div>
      <ReconcileBadge sale={sale} />
      <dl className="sale-row-facts num">
        <div>
          <dt>acc/s</dt>
          <dd>{sale.acceptedPerSec.toFixed(1)}</dd>
        </div>
        <div>
          <dt>db/s</dt>
          <dd>{sale.persistedPerSec.toFixed(1)}</dd>
        </div>
        <div>
          <dt>outbox</dt>
          <dd>{formatCount(sale.outbox)}</dd>
        </div>
        <div>
          <dt>price</dt>
          <dd>{formatPrice(sale.priceCents)}</dd>
        </div>
        <div>
          <dt>limit</dt>
          <dd>{sale.perUserLimit}</dd>
        </div>
        <div className="wide">
          <dt>window</dt>
          <dd>
            {formatDateTime(sale.startsAt)} → {formatDateTime(sale.endsAt)}
          </dd>
        </div>
      </dl>
      <QueueFacts sale={sale} />
      <div className="sale-row-actions">
        <button
          type="button"
          className="btn btn-sm"
          data-testid={`pause-${id}`}
          onClick={() =>
            request({
              title: `Pause ${id}?`,
              detail: 'New orders are refused with SALE_PAUSED until you resume. Orders in flight finish.',
              confirmLabel: 'Pause sale',
              danger: true,
              run: async () =>
                `Paused ${id}: now ${(await trpcClient.admin.pauseSale.mutate({ saleId: id })).state}`,
            })
          }
        >
          <Pause size={15} aria-hidden /> Pause
        </button>
        <button
          type="button"
          className="btn btn-sm"
          data-testid={`resume-${id}`}
          onClick={() =>
            request({
              title: `Resume ${id}?`,
              detail: 'Shoppers can buy again right away.',
              confirmLabel: 'Resume sale',
              run: async () =>
                `Resumed ${id}: now ${(await trpcClient.admin.resumeSale.mutate({ saleId: id })).state}`,
            })
          }
        >
          <Play size={15} aria-hidden /> Resume
        </button>
        <span className="restock">
          <label htmlFor={`restock-qty-${id}`} className="sr-only">
            Units to add to {id}
          </label>
          <input
            id={`restock-qty-${id}`}
            data-testid={`restock-qty-${id}`}
            className="num"
            type="number"
            min={1}
            max={1_000_000}
            value={qty}
            onChange={(e) => setQty(e.target.value)}
            aria-invalid={!restockValid}
          />
          <button
            type="button"
            className="btn btn-sm"
            data-testid={`restock-${id}`}
            disabled={!restockValid}
            onClick={() =>
              request({
                title: `Restock ${id}?`,
                detail: `Add ${formatCount(restockQty)} units to ${sale.name}.`,
                confirmLabel: `Add ${formatCount(restockQty)}`,
                run: async () => {
                  const s = await trpcClient.admin.restock.mutate({ saleId: id, quantity: restockQty });
                  return `Restocked ${id}: ${formatCount(s.remaining)} / ${formatCount(s.totalStock)} left`;
                },
              })
            }
          >
            <PackagePlus size={15} aria-hidden /> Restock
          </button>
        </span>
        <button
          type="button"
          className="btn btn-sm"
          data-testid={`flush-${id}`}
          onClick={() =>
            request({
              title: `Flush the cache of ${id}?`,
              detail:
                'Drops the hot state in Redis and rebuilds it from PostgreSQL. Buying pauses while it rebuilds.',
              confirmLabel: 'Flush & rebuild',
              danger: true,
              run: async () => {
                const r = await trpcClient.admin.flushCache.mutate({ saleId: id });
                return `Rebuilt ${r.sales.map((s) => `${s.saleId} (${formatCount(s.remaining)} left)`).join(', ')}`;
              },
            })
          }
        >
          <RefreshCcw size={15} aria-hidden /> Flush
        </button>
      </div>
    </li>
  );
}

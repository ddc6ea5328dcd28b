import type { HudSale } from '@surge/contracts';
import { Gauge } from 'lucide-react';
import { useState } from 'react';
import { formatCount } from '../../lib/format.ts';
import { trpcClient } from '../../lib/trpc.ts';
import { useControl } from './control.tsx';

/**
 * docs/architecture.md#the-waiting-room on the HUD: a queued sale's waiting room — waiting, admitted, admitted per second,
 * outstanding (admitted without an order yet) — and the admission-rate control.
 */
export function QueueFacts({ sale }: { sale: HudSale }) {
  const { request } = useControl();
  const [rate, setRate] = useState('');
  if (!sale.queue) return null;
  const id = sale.id;
  const next = rate === '' ? Number.NaN : Number(rate);
  const valid = Number.isInteger(next) && next >= 0 && next <= 100_000;
  return (
    <div className="queue-facts" data-testid={`queue-${id}`}>
      <dl className="sale-row-facts num">
        <div>
          <dt>waiting</dt>
          <dd data-testid={`queue-waiting-${id}`}>{formatCount(sale.queue.waiting)}</dd>
        </div>
        <div>
          <dt>admitted</dt>
          <dd data-testid={`queue-admitted-${id}`}>{formatCount(sale.queue.admitted)}</dd>
        </div>
        <div>
          <dt>adm/s</dt>
          <dd data-testid={`queue-admitted-rate-${id}`}>{(sale.room?.admittedPerSec ?? 0).toFixed(1)}</dd>
        </div>
        <div>
          <dt>outstanding</dt>
          <dd data-testid={`queue-outstanding-${id}`}>{formatCount(sale.room?.outstanding ?? 0)}</dd>
        </div>
        <div>
          <dt>rate</dt>
          <dd data-testid={`queue-rate-${id}`}>{formatCount(sale.queue.admitPerSecond)}/s</dd>
        </div>
      </dl>
      <span className="restock">
        <label htmlFor={`admit-rate-${id}`} className="sr-only">
          Admissions per second for {id}
        </label>
        <input
          id={`admit-rate-${id}`}
          data-testid={`admit-rate-input-${id}`}
          className="num"
          type="number"
          min={0}
          max={100_000}
          placeholder={String(sale.queue.admitPerSecond)}
          value={rate}
          onChange={(e) => setRate(e.target.value)}
          aria-invalid={rate !== '' && !valid}
        />
        <button
          type="button"
          className="btn btn-sm"
          data-testid={`admit-rate-set-${id}`}
          disabled={!valid}
          onClick={() =>
            request({
              title: `Admit ${formatCount(next)} per second to ${id}?`,
              detail:
                next === 0
                  ? 'Admission holds: nobody else leaves the waiting room until you raise the rate.'
                  : 'The admission clock follows the new rate at once, on every server.',
              confirmLabel: 'Set rate',
              run: async () => {
                const s = await trpcClient.admin.setAdmission.mutate({ saleId: id, admitPerSecond: next });
                setRate('');
                return `${id} admits ${formatCount(s.queue?.admitPerSecond ?? next)} per second`;
              },
            })
          }
        >
          <Gauge size={15} aria-hidden /> Set rate
        </button>
      </span>
    </div>
  );
}

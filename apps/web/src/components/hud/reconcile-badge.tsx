import type { HudSale } from '@surge/contracts';
import { formatCount } from '../../lib/format.ts';

/**
 * docs/architecture.md#live-data, a sale's live reconciliation: total stock against remaining + held by open
 * reservations + persisted without an open record. Green while they agree; flagged (red) once
 * they have disagreed for 5 s in a row, with the numbers; amber while a difference is younger.
 */
export function ReconcileBadge({ sale }: { sale: HudSale }) {
  const r = sale.reconciliation;
  const state = !r ? 'unknown' : r.flagged ? 'flagged' : r.difference !== 0 ? 'checking' : 'ok';
  const label = {
    ok: 'reconciled',
    checking: 'checking',
    flagged: 'out of balance',
    unknown: 'reconciliation',
  }[state];
  return (
    <p className="reconcile num" data-testid={`reconcile-${sale.id}`} data-state={state}>
      <span className="dot" aria-hidden />
      <strong>{label}</strong>{' '}
      {r ? (
        <span>
          total {formatCount(r.total)} {r.difference === 0 ? '=' : '≠'} {formatCount(r.remaining)} left +{' '}
          {formatCount(r.held)} held + {formatCount(r.persisted)} persisted
          {r.difference !== 0 &&
            ` (${r.difference > 0 ? '+' : ''}${r.difference} for ${Math.floor(r.disagreeingMs / 1000)} s)`}
        </span>
      ) : (
        <span className="muted">waits for the sale's hot state</span>
      )}
    </p>
  );
}

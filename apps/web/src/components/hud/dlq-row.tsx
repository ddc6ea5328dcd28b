import type { DeadLetterView } from '@surge/contracts';
import type { DlqResult } from '../../lib/dead-letters.ts';
import { formatDateTime } from '../../lib/format.ts';

interface Props {
  letter: DeadLetterView;
  selected: boolean;
  outcome: DlqResult | undefined;
  onToggle: () => void;
}

export function DlqRow({ letter: l, selected, outcome, onToggle }: Props) {
  return (
    <li className="dlq-row" data-testid={`dlq-row-${l.id}`} data-selected={selected}>
      <input
        id={`dlq-select-${l.id}`}
        data-testid={`dlq-select-${l.id}`}
        type="checkbox"
        checked={selected}
        onChange={onToggle}
      />
      <label htmlFor={`dlq-select-${l.id}`} className="dlq-main">
        <span className="dlq-reason">{l.reason || 'unknown reason'}</span>
        <span className="dlq-meta num muted">
          #{l.id}
          {l.saleId ? ` · ${l.saleId}` : ''}
          {l.orderId ? ` · order ${l.orderId.slice(0, 8)}` : ''} · {formatDateTime(l.firstSeenAt)}
        </span>
      </label>
      {l.replayable ? null : <span className="tag">not replayable</span>}
      {outcome ? (
        <span className="tag" data-outcome={outcome.outcome}>
          {outcome.outcome}
          {outcome.reason ? `: ${outcome.reason}` : ''}
        </span>
      ) : null}
    </li>
  );
}

import { CircleCheck, CircleX, LoaderCircle, X } from 'lucide-react';
import { formatClock } from '../../lib/format.ts';

export interface Outcome {
  kind: 'running' | 'ok' | 'error';
  title: string;
  text: string;
  at: number;
}

const ICON = { running: LoaderCircle, ok: CircleCheck, error: CircleX } as const;

/** The last control action's result, pinned to the corner until dismissed. */
export function ActionResult({ outcome, onDismiss }: { outcome: Outcome | null; onDismiss: () => void }) {
  if (!outcome) return <div className="sr-only" aria-live="polite" />;
  const Icon = ICON[outcome.kind];
  return (
    <div className="action-toast" data-kind={outcome.kind} role="status" aria-live="polite">
      <Icon size={20} aria-hidden className={outcome.kind === 'running' ? 'spin' : undefined} />
      <div className="action-toast-body">
        <p className="action-toast-title">
          {outcome.title} <span className="num muted">{formatClock(new Date(outcome.at).toISOString())}</span>
        </p>
        <p data-testid="action-result">{outcome.text}</p>
      </div>
      <button type="button" className="icon-btn" aria-label="Dismiss" onClick={onDismiss}>
        <X size={16} aria-hidden />
      </button>
    </div>
  );
}

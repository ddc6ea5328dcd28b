import type { DeadLetterView } from '@surge/contracts';
import { useQuery } from '@tanstack/react-query';
import { Play, Skull, Trash2 } from 'lucide-react';
import { useEffect, useState } from 'react';
import {
  DLQ_BATCH,
  type DlqResult,
  discardDeadLetters,
  listDeadLetters,
  replayDeadLetters,
  summarize,
} from '../../lib/dead-letters.ts';
import { describeFailure, failureOf } from '../../lib/errors.ts';
import { formatAge } from '../../lib/format.ts';
import { useControl } from './control.tsx';
import { DlqRow } from './dlq-row.tsx';

const LIST_KEY = ['admin', 'dlq', 'list'] as const;

/**
 * Dead letters: listed when the pushed DLQ depth changes (never on a timer), replayed or
 * discarded by selection, each outcome shown beside its row.
 */
export function DlqPanel({ depth, oldestAgeMs }: { depth: number | null; oldestAgeMs: number | null }) {
  const { request } = useControl();
  const list = useQuery({ queryKey: LIST_KEY, queryFn: listDeadLetters });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [outcomes, setOutcomes] = useState<ReadonlyMap<string, DlqResult>>(new Map());
  const { refetch } = list;

  useEffect(() => {
    if (depth !== null) void refetch();
  }, [depth, refetch]);

  const letters: DeadLetterView[] = list.data ?? [];
  const ids = [...selected].filter((id) => letters.some((l) => l.id === id));
  const missing = list.error ? failureOf(list.error).reason === 'PROCEDURE_NOT_FOUND' : false;

  const allSelected = letters.length > 0 && letters.slice(0, DLQ_BATCH).every((l) => selected.has(l.id));
  const toggleAll = () =>
    setSelected(allSelected ? new Set() : new Set(letters.slice(0, DLQ_BATCH).map((l) => l.id)));
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  function act(kind: 'replay' | 'discard') {
    const chosen = [...ids];
    request({
      title: `${kind === 'replay' ? 'Replay' : 'Discard'} ${chosen.length} dead letter${chosen.length === 1 ? '' : 's'}?`,
      detail:
        kind === 'replay'
          ? 'Each selected message goes back to the worker; one that fails again is kept with its new reason.'
          : 'The selected dead letters are removed for good. Their orders stay as they are.',
      confirmLabel: kind === 'replay' ? 'Replay' : 'Discard',
      danger: kind === 'discard',
      run: async () => {
        const results = await (kind === 'replay' ? replayDeadLetters : discardDeadLetters)(chosen);
        setOutcomes((m) => new Map([...m, ...results.map((r) => [r.id, r] as const)]));
        setSelected(new Set());
        void refetch();
        return summarize(results);
      },
    });
  }

  return (
    <section className="panel" aria-labelledby="dlq-title">
      <div className="panel-head">
        <h2 id="dlq-title" className="panel-title">
          <Skull size={18} aria-hidden /> Dead letters{' '}
          <span className="muted num">
            {depth ?? '—'}
            {oldestAgeMs !== null ? ` · oldest ${formatAge(oldestAgeMs)}` : ''}
          </span>
        </h2>
        <div className="panel-actions">
          <button
            type="button"
            className="btn btn-sm"
            data-testid="dlq-replay"
            disabled={ids.length === 0}
            onClick={() => act('replay')}
          >
            <Play size={15} aria-hidden /> Replay{ids.length ? ` (${ids.length})` : ''}
          </button>
          <button
            type="button"
            className="btn btn-sm btn-danger-ghost"
            data-testid="dlq-discard"
            disabled={ids.length === 0}
            onClick={() => act('discard')}
          >
            <Trash2 size={15} aria-hidden /> Discard
          </button>
        </div>
      </div>
      <div data-testid="dlq-list">
        {missing ? (
          <p className="muted">This server does not offer dead-letter management yet (admin.dlq.list).</p>
        ) : list.error ? (
          <p className="field-error">{describeFailure(failureOf(list.error))}</p>
        ) : list.isPending ? (
          <p className="muted">Loading…</p>
        ) : letters.length === 0 ? (
          <p className="muted">No dead letters. All orders went through.</p>
        ) : (
          <>
            <label className="select-all">
              <input type="checkbox" checked={allSelected} onChange={toggleAll} />
              Select all{letters.length > DLQ_BATCH ? ` (first ${DLQ_BATCH})` : ''}
            </label>
            <ul className="dlq-list">
              {letters.map((l) => (
                <DlqRow
                  key={l.id}
                  letter={l}
                  selected={selected.has(l.id)}
                  outcome={outcomes.get(l.id)}
                  onToggle={() => toggle(l.id)}
                />
              ))}
            </ul>
          </>
        )}
      </div>
    </section>
  );
}

import type { DeadLetterView } from '@surge/contracts';
import { trpcClient } from './trpc.ts';

/**
 * Per dead letter, what a replay or a discard did (docs/architecture.md#dead-letters-and-replay).
 */
export interface DlqResult {
  id: string;
  outcome: 'replayed' | 'kept' | 'removed' | 'not-found';
  reason?: string;
}

/** The API takes at most this many ids per call. */
export const DLQ_BATCH = 100;

export const listDeadLetters = (): Promise<DeadLetterView[]> => trpcClient.admin.dlq.list.query();
export const replayDeadLetters = (ids: string[]): Promise<DlqResult[]> =>
  trpcClient.admin.dlq.replay.mutate({ ids: ids.slice(0, DLQ_BATCH) });
export const discardDeadLetters = (ids: string[]): Promise<DlqResult[]> =>
  trpcClient.admin.dlq.discard.mutate({ ids: ids.slice(0, DLQ_BATCH) });

/** "replayed 2 · kept 1 (PAYMENT_DECLINED) · not-found 1" */
export function summarize(results: DlqResult[]): string {
  const by = new Map<string, DlqResult[]>();
  for (const r of results) by.set(r.outcome, [...(by.get(r.outcome) ?? []), r]);
  if (by.size === 0) return 'No dead letters changed';
  return [...by.entries()]
    .map(([outcome, rs]) => {
      const reasons = [...new Set(rs.map((r) => r.reason).filter(Boolean))];
      return `${outcome} ${rs.length}${reasons.length ? ` (${reasons.join(', ')})` : ''}`;
    })
    .join(' · ');
}

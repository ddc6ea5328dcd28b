import type { Sale, SaleState } from '@surge/contracts';

/** The sale the shop shows without `?sale=`: the first live one, else scheduled, else any. */
export function pickSale<T extends { state: SaleState }>(sales: readonly T[]): T | null {
  return (
    sales.find((s) => s.state === 'live') ?? sales.find((s) => s.state === 'scheduled') ?? sales[0] ?? null
  );
}

export interface Countdown {
  label: 'Starts in' | 'Ends in' | 'Ended';
  ms: number;
}

/** Counted against the server's clock (`nowMs` = local time + the server offset). */
export function countdownOf(sale: Pick<Sale, 'state' | 'startsAt' | 'endsAt'>, nowMs: number): Countdown {
  const starts = Date.parse(sale.startsAt);
  const ends = Date.parse(sale.endsAt);
  if (sale.state === 'ended' || nowMs >= ends) return { label: 'Ended', ms: 0 };
  if (nowMs < starts) return { label: 'Starts in', ms: starts - nowMs };
  return { label: 'Ends in', ms: ends - nowMs };
}

export const STATE_LABELS: Record<SaleState, string> = {
  live: 'Live now',
  scheduled: 'Starting soon',
  paused: 'Paused',
  soldout: 'Sold out',
  ended: 'Ended',
  rebuilding: 'Restoring',
};

export function stockPercent(s: Pick<Sale, 'remaining' | 'totalStock'>): number {
  return s.totalStock > 0 ? Math.min(100, Math.max(0, (s.remaining / s.totalStock) * 100)) : 0;
}

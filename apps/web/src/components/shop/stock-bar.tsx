import { formatCount } from '../../lib/format.ts';

/** Remaining stock as a bar and as "remaining / total"; the bar turns hot under 10 %. */
export function StockBar({ remaining, total }: { remaining: number; total: number }) {
  const pct = total > 0 ? Math.min(100, Math.max(0, (remaining / total) * 100)) : 0;
  const level = pct === 0 ? 'empty' : pct < 10 ? 'low' : 'ok';
  return (
    <div className="stock">
      <div className="stock-head">
        <span className="label">Remaining</span>
        <span className="num stock-count" data-testid="stock-remaining">
          {formatCount(remaining)} / {formatCount(total)}
        </span>
      </div>
      <div
        className="bar"
        data-testid="stock-bar"
        data-level={level}
        role="progressbar"
        aria-label="Remaining stock"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={remaining}
      >
        <div className="bar-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

import type { Sale } from '@surge/contracts';
import { Timer } from 'lucide-react';
import { formatDuration } from '../../lib/format.ts';
import { countdownOf } from '../../lib/sale-view.ts';
import { useNow } from '../../lib/use-now.ts';

/** Time to the start or the end, counted on the server's clock (local clock + offset). */
export function Countdown({ sale, offsetMs }: { sale: Sale; offsetMs: number }) {
  const now = useNow(250) + offsetMs;
  const c = countdownOf(sale, now);
  return (
    <div className="countdown">
      <Timer size={18} aria-hidden />
      <span className="label">{c.label}</span>
      <span className="num countdown-value" data-testid="countdown" aria-live="off">
        {c.label === 'Ended' ? '00:00:00' : formatDuration(c.ms)}
      </span>
    </div>
  );
}

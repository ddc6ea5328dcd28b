import { BarChart3 } from 'lucide-react';
import type { AnswerPoint } from '../../lib/use-hud-stream.ts';

const W = 480;
const H = 120;
const COLORS: Record<string, string> = {
  accepted: 'var(--accent)',
  replay: 'var(--ok, #22c55e)',
  SOLD_OUT: 'var(--danger)',
  NOT_ADMITTED: 'var(--warn)',
  RATE_LIMITED: '#a855f7',
};
const OTHER = ['#64748b', '#14b8a6', '#ec4899', '#84cc16', '#f59e0b'];

/** `order.place` answers per second by kind over the last frames, across every server (issue 9 §2). */
export function AnswersChart({ points }: { points: AnswerPoint[] }) {
  const kinds = [...new Set(points.flatMap((p) => Object.keys(p)))].sort();
  const max = Math.max(1, ...points.flatMap((p) => Object.values(p)));
  const step = points.length > 1 ? W / (points.length - 1) : W;
  const latest = points.at(-1) ?? {};
  return (
    <section className="panel" aria-labelledby="answers-title" data-testid="answers-chart">
      <h2 id="answers-title" className="panel-title">
        <BarChart3 size={18} aria-hidden /> Answers / s by reason
      </h2>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        className="answers-svg"
        role="img"
        aria-label={`order.place answers per second, peak ${max}`}
      >
        {kinds.map((k, i) => (
          <path
            key={k}
            fill="none"
            strokeWidth="2"
            stroke={COLORS[k] ?? OTHER[i % OTHER.length]}
            d={points
              .map(
                (p, j) =>
                  `${j === 0 ? 'M' : 'L'}${(j * step).toFixed(1)},${(H - 2 - ((p[k] ?? 0) / max) * (H - 6)).toFixed(1)}`,
              )
              .join(' ')}
          />
        ))}
      </svg>
      <ul className="answers-legend num">
        {kinds.map((k, i) => (
          <li key={k} data-testid={`answers-${k}`}>
            <span style={{ color: COLORS[k] ?? OTHER[i % OTHER.length] }}>■</span> {k} {latest[k] ?? 0}/s
          </li>
        ))}
        {kinds.length === 0 ? <li className="muted">no orders in the last seconds</li> : null}
      </ul>
    </section>
  );
}

import type { RatePoint } from '../../lib/use-hud-stream.ts';

const W = 240;
const H = 56;

function path(values: number[], max: number): string {
  if (values.length === 0) return '';
  const step = values.length > 1 ? W / (values.length - 1) : W;
  return values
    .map(
      (v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(H - 2 - (v / max) * (H - 6)).toFixed(1)}`,
    )
    .join(' ');
}

/** Accepted (cyan) and persisted (magenta) per second over the last frames. */
export function Sparkline({ points }: { points: RatePoint[] }) {
  const max = Math.max(1, ...points.map((p) => Math.max(p.accepted, p.persisted)));
  const accepted = path(
    points.map((p) => p.accepted),
    max,
  );
  const persisted = path(
    points.map((p) => p.persisted),
    max,
  );
  return (
    <svg
      className="sparkline"
      data-testid="sparkline"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`Throughput over the last ${points.length} frames, peak ${max.toFixed(1)} per second`}
    >
      <line x1="0" x2={W} y1={H - 2} y2={H - 2} className="spark-base" />
      {accepted ? <path d={`${accepted} L${W},${H} L0,${H} Z`} className="spark-area" /> : null}
      {accepted ? <path d={accepted} className="spark-accepted" /> : null}
      {persisted ? <path d={persisted} className="spark-persisted" /> : null}
    </svg>
  );
}

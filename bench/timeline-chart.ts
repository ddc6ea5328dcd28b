/**
 * The picture of one `npm run bench` (SVG, no dependencies): accepted orders per second and the
 * p99 latency of each second, one line per measured phase (baseline, tRPC with and without
 * workers, the maximum and 80 % of it), over the seconds since that phase's load began. The same
 * two-panel layout as the chaos run's picture (tests/chaos/report.ts), which draws a single
 * series with fault bands and so cannot take several phases.
 */
import { esc, niceMax, polyline } from '../tests/support/svg.ts';
import type { SecondSample } from './load.ts';

export interface Phase {
  label: string;
  perSecond: SecondSample[];
}

const COLORS = ['#64748b', '#1b6ca8', '#16a34a', '#b5179e', '#f59e0b', '#dc2626', '#14b8a6', '#7c3aed'];

export { niceMax };

export function benchTimelineSvg(title: string, phases: readonly Phase[]): string {
  const W = 1000;
  const left = 70;
  const right = 230; // the legend
  const panel = 170;
  const top = 40;
  const gap = 45;
  const H = top + 2 * panel + gap + 45;
  const seconds = Math.max(1, ...phases.map((p) => p.perSecond.length));
  const maxRate = niceMax(Math.max(0, ...phases.flatMap((p) => p.perSecond.map((s) => s.accepted))));
  const maxP99 = niceMax(Math.max(0, ...phases.flatMap((p) => p.perSecond.map((s) => s.p99Ms ?? 0))));
  const x = (second: number) => left + ((W - left - right) * (second + 0.5)) / seconds;
  const y1 = (v: number) => top + panel - (panel * v) / maxRate;
  const y2 = (v: number) => top + panel + gap + panel - (panel * v) / maxP99;
  const line = (pts: [number, number][], color: string) => polyline(pts, color, 1.8);
  const lines = phases.flatMap((p, i) => {
    const c = COLORS[i % COLORS.length] as string;
    return [
      line(
        p.perSecond.map((s) => [x(s.second), y1(s.accepted)]),
        c,
      ),
      line(
        p.perSecond.flatMap((s): [number, number][] =>
          s.p99Ms === null ? [] : [[x(s.second), y2(s.p99Ms)]],
        ),
        c,
      ),
    ];
  });
  const legend = phases
    .map(
      (p, i) =>
        `<text x="${W - right + 12}" y="${top + 12 + i * 16}" font-size="11" fill="${COLORS[i % COLORS.length]}">■ ${esc(p.label)}</text>`,
    )
    .join('\n');
  const ticks = Array.from({ length: seconds + 1 }, (_, t) => t)
    .filter((t) => seconds <= 20 || t % 5 === 0)
    .map(
      (t) =>
        `<text x="${(left + ((W - left - right) * t) / seconds).toFixed(1)}" y="${H - 28}" font-size="10" text-anchor="middle">${t}s</text>`,
    )
    .join('');
  const fmt = (v: number) => v.toLocaleString('en-US');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<title>${esc(title)}: accepted orders per second and p99 latency per second, one line per phase</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>
<rect x="${left}" y="${top}" width="${W - left - right}" height="${panel}" fill="none" stroke="#999"/>
<rect x="${left}" y="${top + panel + gap}" width="${W - left - right}" height="${panel}" fill="none" stroke="#999"/>
<text x="4" y="${top + 12}" font-size="10">${fmt(maxRate)} /s</text><text x="4" y="${top + panel}" font-size="10">0</text>
<text x="4" y="${top + panel + gap + 12}" font-size="10">${fmt(maxP99)} ms</text><text x="4" y="${top + 2 * panel + gap}" font-size="10">0</text>
<text x="${left + 4}" y="${top + 12}" font-size="11" fill="#333">accepted order.place per second</text>
<text x="${left + 4}" y="${top + panel + gap + 12}" font-size="11" fill="#333">p99 latency of that second's answers (ms, as the client saw them)</text>
${lines.join('\n')}
${legend}
${ticks}
<text x="${left}" y="${H - 8}" font-size="10" fill="#555">seconds since the phase's measured load began (after its warm-up); the phases ran one after another; a second without answers has no p99 point</text>
</svg>
`;
}

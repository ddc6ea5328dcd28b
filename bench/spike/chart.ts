/**
 * The spike bench's picture (SVG, no dependencies): answers per second by reason over time, and
 * the waiting room's length, the admitted and the sold units on a second axis.
 */
import { esc, polyline } from '../../tests/support/svg.ts';
import { BUCKET_MS, type Timeline } from './crowd.ts';

const NAMED: Record<string, string> = {
  accepted: '#16a34a',
  replay: '#86efac',
  SOLD_OUT: '#dc2626',
  NOT_ADMITTED: '#f97316',
  SALE_NOT_STARTED: '#94a3b8',
  'queue.join': '#7c3aed',
  'queue.get': '#2563eb',
};
const colorOf = (reason: string, i: number) => NAMED[reason] ?? (COLORS[i % COLORS.length] as string);
const COLORS = [
  '#22c55e',
  '#ef4444',
  '#f59e0b',
  '#3b82f6',
  '#a855f7',
  '#14b8a6',
  '#64748b',
  '#ec4899',
  '#84cc16',
];

export function timelineSvg(title: string, tl: Timeline): string {
  const W = 900;
  const H = 360;
  const pad = { l: 60, r: 60, t: 40, b: 40 };
  const reasons = [...tl.totals().keys()];
  const seconds = (tl.buckets.length * BUCKET_MS) / 1000;
  const perSec = (n: number) => n * (1000 / BUCKET_MS);
  const maxRate = Math.max(1, ...tl.buckets.flatMap((b) => [...b.values()].map(perSec)));
  const maxCount = Math.max(1, ...tl.samples.flatMap((s) => [s.waiting, s.admitted, s.sold]));
  const x = (s: number) => pad.l + (s / Math.max(1, seconds)) * (W - pad.l - pad.r);
  const y = (v: number, max: number) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const line = (pts: [number, number][], color: string, dash = '') => polyline(pts, color, 1.6, dash);
  const parts: string[] = [];
  reasons.forEach((r, i) => {
    const pts = tl.buckets.map((b, k): [number, number] => [
      x((k * BUCKET_MS) / 1000),
      y(perSec(b.get(r) ?? 0), maxRate),
    ]);
    parts.push(line(pts, colorOf(r, i)));
  });
  const series: [keyof (typeof tl.samples)[number], string][] = [
    ['waiting', '#0891b2'],
    ['admitted', '#ca8a04'],
    ['sold', '#111827'],
  ];
  for (const [key, color] of series) {
    const pts = tl.samples.map((s): [number, number] => [x(s.atMs / 1000), y(s[key] as number, maxCount)]);
    if (pts.length > 1) parts.push(line(pts, color, '5 3'));
  }
  const legend = [
    ...reasons.map((r, i) => [`${r} /s`, colorOf(r, i)]),
    ...series.map(([k, c]) => [`${k} (right axis)`, c]),
  ]
    .map(
      ([label, c], i) =>
        `<text x="${pad.l + 10 + (i % 4) * 200}" y="${16 + Math.floor(i / 4) * 14}" font-size="11" fill="${c}">■ ${esc(label as string)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 30}" font-family="sans-serif">
<title>${esc(title)}: answers per second by reason, waiting, admitted and sold over time</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${pad.l}" y="${H + 25}" font-size="12">${esc(title)} — time (s) →  0 … ${seconds.toFixed(1)} s</text>
${legend}
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#999"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#999"/>
<text x="4" y="${pad.t + 4}" font-size="11">${Math.round(maxRate)}/s</text>
<text x="${W - pad.r + 4}" y="${pad.t + 4}" font-size="11">${maxCount}</text>
${parts.join('\n')}
</svg>
`;
}

/**
 * The few pieces every SVG picture of Surge draws with (the bench's timeline, the spike bench's,
 * the fault run's): no dependency, plain strings.
 */

/** Text for an SVG element or attribute. */
export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A polyline through `points` (x, y), one decimal each. */
export function polyline(
  points: readonly (readonly [number, number])[],
  color: string,
  width: number,
  dash = '',
): string {
  const d = dash ? ` stroke-dasharray="${dash}"` : '';
  const pts = points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}"${d} points="${pts}"/>`;
}

/** A round number ≥ v for an axis' top (1, 2, 5 × 10ⁿ). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

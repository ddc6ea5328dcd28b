import { describe, expect, it } from 'vitest';
import { timelineSvg as spikeSvg } from '../../bench/spike/chart.ts';
import { Timeline } from '../../bench/spike/crowd.ts';
import { timelineSvg as chaosSvg } from '../chaos/report.ts';
import { esc, polyline } from '../support/svg.ts';

/** The shared SVG pieces (tests/support/svg.ts) and the pictures that use them. */
describe('SVG pictures', () => {
  it('escapes text and draws polylines with one decimal', () => {
    expect(esc(`a<b & "c">`)).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
    expect(
      polyline(
        [
          [1, 2.04],
          [3.25, 4],
        ],
        '#111',
        1.5,
      ),
    ).toBe('<polyline fill="none" stroke="#111" stroke-width="1.5" points="1.0,2.0 3.3,4.0"/>');
    expect(polyline([[0, 0]], '#222', 2, '5 3')).toContain('stroke-dasharray="5 3"');
  });

  it('the spike and fault-run pictures carry their titles escaped and a line per series', () => {
    const tl = new Timeline();
    for (let i = 0; i < 10; i++) tl.record('order.place', i % 2 ? 'accepted' : 'SOLD_OUT', 5);
    tl.samples.push(
      { atMs: 0, waiting: 3, admitted: 0, sold: 0 },
      { atMs: 500, waiting: 1, admitted: 2, sold: 1 },
    );
    const spike = spikeSvg('run <B>', tl);
    expect(spike).toContain('<title>run &lt;B&gt;: answers per second');
    expect(spike.match(/<polyline /g)).toHaveLength(2 + 3);
    const series = [0, 1, 2].map((second) => ({ second, ok: 5, p99Ms: 10 }));
    const chaos = chaosSvg(
      series as never,
      [{ kind: 'kill-server', target: 'a&b', start: 0, ready: 500 }] as never,
      't',
    );
    expect(chaos).toContain('kill-server a&amp;b');
    expect(chaos.match(/<polyline /g)).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { benchTimelineSvg, niceMax } from '../../bench/timeline-chart.ts';

describe("npm run bench's picture", () => {
  it('draws accepted/s and p99 of each phase, labelled, with escaped text', () => {
    const svg = benchTimelineSvg('run <1>', [
      { label: 'baseline', perSecond: [0, 1, 2].map((second) => ({ second, accepted: 4000, p99Ms: 30 })) },
      {
        label: 'tRPC + 1 worker',
        perSecond: [0, 1].map((second) => ({ second, accepted: 2000, p99Ms: 90 })),
      },
    ]);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    expect(svg).toContain('■ baseline');
    expect(svg).toContain('■ tRPC + 1 worker');
    expect(svg).toContain('run &lt;1&gt;');
    expect(svg).toContain('5,000 /s');
    expect(svg).toContain('100 ms');
  });

  it('a second without answers has no p99 point', () => {
    const svg = benchTimelineSvg('run', [
      {
        label: 'stalled',
        perSecond: [
          { second: 0, accepted: 0, p99Ms: null },
          { second: 1, accepted: 10, p99Ms: 5 },
        ],
      },
    ]);
    const p99Line = svg.match(/<polyline[^>]*points="([^"]*)"/g)?.[1] ?? '';
    expect(p99Line.match(/\d,\d/g)).toHaveLength(1);
  });

  it('rounds axis tops up to 1, 2 or 5 × 10ⁿ', () => {
    expect([niceMax(0), niceMax(3), niceMax(4609), niceMax(101), niceMax(10)]).toEqual([1, 5, 5000, 200, 10]);
  });
});

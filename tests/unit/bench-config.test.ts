import { describe, expect, it } from 'vitest';
import { parseExtraLoads } from '../../bench/config.ts';

describe('BENCH_EXTRA_LOADS', () => {
  it('takes fractions of the maximum separated by commas, in the order given', () => {
    expect(parseExtraLoads('')).toEqual([]);
    expect(parseExtraLoads(' 0.6, 0.4 ')).toEqual([0.6, 0.4]);
    expect(parseExtraLoads('1.2')).toEqual([1.2]);
  });

  it('refuses anything else with an error that names the setting', () => {
    for (const bad of ['0', '0.01', '-0.5', '2', 'half', '0.4,,0.6', '0.4,'])
      expect(() => parseExtraLoads(bad), bad).toThrow(/BENCH_EXTRA_LOADS must be fractions/);
  });
});

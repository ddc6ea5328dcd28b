import { describe, expect, it } from 'vitest';
import { DUPLICATE_SIGNAL_MS, judgeSignal } from './shutdown.ts';

describe('judgeSignal', () => {
  it('the first stop signal stops; the same one again at once is the same request', () => {
    expect(judgeSignal(null, 'SIGTERM', 1000)).toBe('stop');
    const first = { signal: 'SIGTERM', at: 1000 };
    expect(judgeSignal(first, 'SIGTERM', 1000)).toBe('duplicate');
    expect(judgeSignal(first, 'SIGTERM', 1000 + DUPLICATE_SIGNAL_MS - 1)).toBe('duplicate');
  });

  it('a later repeat, or another signal, forces the exit (a second Ctrl-C)', () => {
    const first = { signal: 'SIGINT', at: 1000 };
    expect(judgeSignal(first, 'SIGINT', 1000 + DUPLICATE_SIGNAL_MS)).toBe('force');
    expect(judgeSignal(first, 'SIGTERM', 1001)).toBe('force');
  });
});

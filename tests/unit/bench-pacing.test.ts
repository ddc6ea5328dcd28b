import { describe, expect, it } from 'vitest';
import { PacedSchedule } from '../../bench/pacing.ts';

describe("the open loop's schedule (bench/pacing.ts)", () => {
  it('spaces requests evenly at the rate, for the duration', () => {
    const s = new PacedSchedule(4000, 1000, 2);
    expect(s.total).toBe(8000);
    expect(s.intervalMs).toBe(0.25);
    expect(s.scheduledAt(0)).toBe(1000);
    expect(s.scheduledAt(4)).toBe(1001);
    expect(s.scheduledAt(7999)).toBeCloseTo(2999.75, 9);
  });

  it('takes each request exactly once, the due ones only, whatever the wake-up times', () => {
    const s = new PacedSchedule(3000, 0, 1);
    const taken: number[] = [];
    // Irregular wake-ups, some late by several intervals, some before anything new is due.
    for (const now of [0, 0.1, 0.9, 1, 5.5, 5.6, 17, 400, 400.2, 999, 5000]) {
      const { from, to } = s.takeDue(now);
      expect(from).toBe(taken.length);
      for (let i = from; i < to; i++) {
        expect(s.scheduledAt(i)).toBeLessThanOrEqual(now + 1e-9);
        taken.push(i);
      }
      // Nothing left behind that was due.
      if (to < s.total) expect(s.scheduledAt(to)).toBeGreaterThan(now);
    }
    expect(taken).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(s.finished).toBe(true);
  });

  it('a request due exactly now is taken now (no rounding miss at a fractional interval)', () => {
    const s = new PacedSchedule(3, 0, 10); // interval 333.33… ms
    expect(s.takeDue(0)).toEqual({ from: 0, to: 1 });
    expect(s.takeDue(s.scheduledAt(3))).toEqual({ from: 1, to: 4 });
  });

  it('before the start nothing is due, and it says how long to wait', () => {
    const s = new PacedSchedule(1000, 50, 1);
    expect(s.takeDue(10)).toEqual({ from: 0, to: 0 });
    expect(s.waitMs(10)).toBe(40);
    s.takeDue(50);
    expect(s.waitMs(50)).toBe(1);
    expect(s.waitMs(52)).toBe(0);
  });

  it('says when every request has been taken', () => {
    const s = new PacedSchedule(10, 0, 1);
    expect(s.waitMs(0)).toBe(0);
    s.takeDue(10_000);
    expect(s.finished).toBe(true);
    expect(s.waitMs(10_000)).toBeNull();
    expect(s.takeDue(20_000)).toEqual({ from: 10, to: 10 });
  });

  it('refuses a rate or a duration that schedules nothing', () => {
    expect(() => new PacedSchedule(0, 0, 1)).toThrow();
    expect(() => new PacedSchedule(Number.NaN, 0, 1)).toThrow();
    expect(() => new PacedSchedule(100, 0, 0)).toThrow();
  });
});

import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { ADMIN_PASSWORD } from '../support/stack.ts';

/**
 * README.md#security / issue 10 M4: beside the per-IP throttle, a global count of failed logins slows
 * guesses spread over many addresses (exponential backoff), and never touches a correct
 * password — a flood of wrong ones cannot lock the admin out mid-sale.
 */
const it = stackTest({
  server: { TRUST_PROXY: 'true', ADMIN_LOGIN_LIMIT: '1000', ADMIN_LOGIN_GLOBAL_FREE: '3' },
});

const timed = async <T>(fn: () => Promise<T>) => {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
};

describe('global failed-login backoff (M4)', () => {
  it('wrong passwords from ever new IPs slow down past the free failures; the right one answers at once', async ({
    server,
  }) => {
    const from = (i: number) => new TestClient(server.url, { 'x-forwarded-for': `198.51.100.${i}` });
    for (let i = 0; i < 3; i++) {
      const r = await timed(() => from(i).mutate('admin.login', { password: `guess-${i}` }));
      expect(reasonOf(r.value)).toBe('BAD_CREDENTIALS');
      expect(r.ms).toBeLessThan(1000);
    }
    const delays: number[] = [];
    for (let i = 3; i < 6; i++) {
      const r = await timed(() => from(i).mutate('admin.login', { password: `guess-${i}` }));
      expect(reasonOf(r.value)).toBe('BAD_CREDENTIALS');
      delays.push(r.ms);
    }
    // 100, 200, 400 ms of backoff (plus the call itself).
    expect(delays[0]).toBeGreaterThanOrEqual(95);
    expect(delays[2]).toBeGreaterThanOrEqual(395);
    expect(delays[2]).toBeGreaterThan(delays[0] ?? 0);

    const admin = await timed(() => from(99).mutate('admin.login', { password: ADMIN_PASSWORD }));
    expect(admin.value.status).toBe(200);
    expect(admin.ms).toBeLessThan(delays[2] ?? 0);
  });
});

import { describe, expect } from 'vitest';
import { type Answer, reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { ADMIN_PASSWORD, createSale } from '../support/stack.ts';

/** Two servers on one stack: `limited` with the limits on, `open` with them off. */
const it = stackTest({ server: false })
  .extend('limited', { scope: 'file', auto: true }, async ({ stack }) =>
    stack.server({
      RATE_LIMIT_PER_USER: '3',
      RATE_LIMIT_PER_IP: '5',
      RATE_LIMIT_WINDOW_MS: '10000',
      TRUST_PROXY: 'true',
      ADMIN_LOGIN_LIMIT: '3',
    }),
  )
  .extend('open', { scope: 'file', auto: true }, async ({ stack }) => {
    const open = await stack.server({
      RATE_LIMIT_PER_USER: '0',
      RATE_LIMIT_PER_IP: '0',
      TRUST_PROXY: 'true',
      ADMIN_LOGIN_LIMIT: '3',
    });
    const admin = new TestClient(open.url, { 'x-forwarded-for': '10.9.9.9' });
    await admin.loginAdmin(ADMIN_PASSWORD);
    await createSale(admin, { id: 'limited', totalStock: 10_000, perUserLimit: 100 });
    return open;
  });

/**
 * Rate limits (docs/architecture.md#the-http-edge), counted in Redis: per user and per IP on
 * order.place, per IP on session.start, and the admin-login throttle that stays on when every other
 * limit is off. X-Forwarded-For (TRUST_PROXY=true) gives each case its own client IP.
 */
describe('rate limits', () => {
  const expectLimited = (a: Answer, windowMs = 10_000) => {
    expect(a.status).toBe(429);
    expect(reasonOf(a)).toBe('RATE_LIMITED');
    const retry = a.body.error?.data.retryAfterMs ?? 0;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(windowMs);
  };
  const order = (c: TestClient, i: number) =>
    c.mutate('order.place', {
      saleId: 'limited',
      quantity: 1,
      idempotencyKey: `rl-key-${i}-${c.baseUrl.length}-${Math.random()}`,
    });

  it('per user: the 4th order.place in a window gets 429 RATE_LIMITED with retryAfterMs, and reserves nothing', async ({
    stack,
    limited,
  }) => {
    // Each user from its own IP so only the per-user limit can trip.
    const u = new TestClient(limited.url, { 'x-forwarded-for': '10.0.1.1' });
    await u.startSession();
    for (let i = 0; i < 3; i++) {
      u.extraHeaders['x-forwarded-for'] = `10.0.1.${10 + i}`;
      expect((await order(u, i)).status).toBe(200);
    }
    const before = (await hotState(stack.ns, 'limited')).hot.remaining;
    u.extraHeaders['x-forwarded-for'] = '10.0.1.99';
    expectLimited(await order(u, 4));
    expect((await hotState(stack.ns, 'limited')).hot.remaining).toBe(before);
    const other = new TestClient(limited.url, { 'x-forwarded-for': '10.0.1.100' });
    await other.startSession();
    expect((await order(other, 0)).status).toBe(200);
  });

  it('per IP: the 6th order.place from one IP (different users) is limited; another IP is not', async ({
    limited,
  }) => {
    const users = Array.from(
      { length: 6 },
      () => new TestClient(limited.url, { 'x-forwarded-for': '10.0.2.1' }),
    );
    for (const [i, u] of users.entries()) {
      u.extraHeaders['x-forwarded-for'] = `10.0.2.${50 + i}`; // sessions from elsewhere
      await u.startSession();
      u.extraHeaders['x-forwarded-for'] = '10.0.2.1';
    }
    const answers = [];
    for (const [i, u] of users.entries()) answers.push(await order(u, i));
    expect(answers.slice(0, 5).every((a) => a.status === 200)).toBe(true);
    expectLimited(answers[5] as Answer);
    const elsewhere = users[5] as TestClient;
    elsewhere.extraHeaders['x-forwarded-for'] = '10.0.2.2';
    expect((await order(elsewhere, 9)).status).toBe(200);
  });

  it('session.start is limited per IP, and not at all when RATE_LIMIT_PER_IP=0', async ({
    limited,
    open,
  }) => {
    const c = new TestClient(limited.url, { 'x-forwarded-for': '10.0.3.1' });
    for (let i = 0; i < 5; i++) expect((await c.mutate('session.start')).status).toBe(200);
    expectLimited(await c.mutate('session.start'));
    const free = new TestClient(open.url, { 'x-forwarded-for': '10.0.3.2' });
    for (let i = 0; i < 12; i++) expect((await free.mutate('session.start')).status).toBe(200);
  });

  it('admin.login is throttled per IP even with every other limit off, right password or not', async ({
    open,
  }) => {
    const c = new TestClient(open.url, { 'x-forwarded-for': '10.0.4.1' });
    for (let i = 0; i < 3; i++)
      expect(reasonOf(await c.mutate('admin.login', { password: `wrong-${i}` }))).toBe('BAD_CREDENTIALS');
    expectLimited(await c.mutate('admin.login', { password: ADMIN_PASSWORD }), 60_000);
    const elsewhere = new TestClient(open.url, { 'x-forwarded-for': '10.0.4.2' });
    expect((await elsewhere.mutate('admin.login', { password: ADMIN_PASSWORD })).status).toBe(200);
  });

  it('behind a trusted proxy the client IP is the entry the proxy appended, not one the client wrote', async ({
    open,
  }) => {
    // The client writes a fresh fake IP each time; the proxy appends the real one (10.0.6.1).
    for (let i = 0; i < 3; i++) {
      const c = new TestClient(open.url, { 'x-forwarded-for': `203.0.113.${i}, 10.0.6.1` });
      expect(reasonOf(await c.mutate('admin.login', { password: `nope-${i}` }))).toBe('BAD_CREDENTIALS');
    }
    const c = new TestClient(open.url, { 'x-forwarded-for': '203.0.113.99, 10.0.6.1' });
    expectLimited(await c.mutate('admin.login', { password: ADMIN_PASSWORD }), 60_000);
  });

  it('X-Forwarded-For is ignored unless TRUST_PROXY is true', async ({ stack }) => {
    const untrusting = await stack.server({
      RATE_LIMIT_PER_USER: '0',
      RATE_LIMIT_PER_IP: '0',
      ADMIN_LOGIN_LIMIT: '2',
    });
    // Every attempt comes from 127.0.0.1 whatever the header says.
    for (let i = 0; i < 2; i++) {
      const c = new TestClient(untrusting.url, { 'x-forwarded-for': `10.0.5.${i}` });
      expect(reasonOf(await c.mutate('admin.login', { password: 'nope' }))).toBe('BAD_CREDENTIALS');
    }
    const c = new TestClient(untrusting.url, { 'x-forwarded-for': '10.0.5.200' });
    expectLimited(await c.mutate('admin.login', { password: 'nope' }), 60_000);
  });
});

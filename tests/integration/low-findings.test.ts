import { get, type IncomingMessage } from 'node:http';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';

/** README.md#security / issue 10, the low findings: L1 live.hud and revocation, L5 caching, L8 HSTS. */
const it = stackTest();

describe('live.hud and the admin session (L1)', () => {
  it('a HUD stream stops within seconds of admin.logout', async ({ stack, server }) => {
    const admin = await stack.admin(server.url);
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${server.url}/trpc/live.hud`, { headers: { cookie, accept: 'text/event-stream' } }, resolve).on(
        'error',
        reject,
      ),
    );
    expect(res.statusCode).toBe(200);
    let text = '';
    res.on('data', (d) => (text += d));
    const closed = new Promise<number>((resolve) => res.once('close', () => resolve(Date.now())));
    await new Promise((r) => setTimeout(r, 500));
    expect(text).toMatch(/data:/);
    const loggedOut = Date.now();
    expect((await admin.mutate('admin.logout', {})).status).toBe(200);
    const end = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    expect(end, 'the stream is still open 5 s after logout').toBeGreaterThan(0);
    expect(end - loggedOut).toBeLessThan(4000);
    res.destroy();
  });
});

describe('personal answers are not cached (L5)', () => {
  it('every /trpc answer says Cache-Control: private, no-store', async ({ server }) => {
    const { TestClient } = await import('../support/client.ts');
    const u = new TestClient(server.url);
    await u.startSession();
    for (const r of [
      await u.query('order.mine', {}),
      await u.query('sale.list'),
      await u.mutate('session.start', {}),
      await u.query('order.get', { orderId: 'nope' }),
    ])
      expect(r.headers['cache-control']).toBe('private, no-store');
  });
});

describe('HSTS in production (L8)', () => {
  it('a production server says Strict-Transport-Security on every answer; development does not', async ({
    stack,
    server,
  }) => {
    const { PRODUCTION_SECRETS } = await import('../support/env.ts');
    const prod = await stack.server({ NODE_ENV: 'production', ...PRODUCTION_SECRETS });
    for (const path of ['/healthz', '/trpc/sale.list', '/'])
      expect((await fetch(`${prod.url}${path}`)).headers.get('strict-transport-security'), path).toMatch(
        /max-age=31536000/,
      );
    expect((await fetch(`${server.url}/healthz`)).headers.get('strict-transport-security')).toBeNull();
  });
});

describe('guest cookies (L4)', () => {
  it('production: __Host- prefix, Secure; the issued-at is signed in and the server refuses a cookie past 30 days', async ({
    stack,
  }) => {
    const { createHmac } = await import('node:crypto');
    const { PRODUCTION_SECRETS } = await import('../support/env.ts');
    const { TestClient, reasonOf } = await import('../support/client.ts');
    const prod = await stack.server({ NODE_ENV: 'production', ...PRODUCTION_SECRETS, POW_MAX_NUMBER: '0' });
    const u = new TestClient(prod.url);
    const r = await u.mutate<{ userId: string }>('session.start', {});
    const set = String(r.headers['set-cookie']);
    expect(set).toMatch(/^__Host-surge_sid=/);
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; Secure/);
    expect(set).not.toMatch(/Domain=/i);
    expect((await u.query('order.mine', {})).status).toBe(200);

    const userId = r.body.result?.data.userId ?? '';
    const signed = (value: string) =>
      `${value}.${createHmac('sha256', `${PRODUCTION_SECRETS.SESSION_SECRET}:guest`).update(value).digest('base64url')}`;
    const old = Math.floor(Date.now() / 1000) - 31 * 24 * 3600;
    for (const value of [`${userId}:${old}`, userId]) {
      const c = new TestClient(prod.url);
      c.cookies.set('__Host-surge_sid', signed(value));
      expect(reasonOf(await c.query('order.mine', {})), value).toBe('NO_SESSION');
    }
    const fresh = new TestClient(prod.url);
    fresh.cookies.set('__Host-surge_sid', signed(`${userId}:${Math.floor(Date.now() / 1000) - 3600}`));
    expect((await fresh.query('order.mine', {})).status).toBe(200);
  });
});

describe('correlation ids (L6)', () => {
  it('the server makes its own id; the client’s is not taken for the order', async ({ server, admin }) => {
    const { TestClient } = await import('../support/client.ts');
    const { createSale } = await import('../support/stack.ts');
    await createSale(admin, { id: 'corr', totalStock: 5, perUserLimit: 5 });
    const u = new TestClient(server.url);
    await u.startSession();
    const r = await u.mutate<{ correlationId: string }>(
      'order.place',
      { saleId: 'corr', quantity: 1, idempotencyKey: 'corr-key-0001' },
      { 'x-correlation-id': 'someone-elses-trail' },
    );
    expect(r.status).toBe(200);
    const id = String(r.headers['x-correlation-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.result?.data.correlationId).toBe(id);
  });
});

describe('/metrics is not public in production (L2)', () => {
  it("a production server's /metrics answers 401 without its bearer token, 200 with it; a worker given METRICS_TOKEN too", async ({
    stack,
    server,
  }) => {
    const { PRODUCTION_SECRETS } = await import('../support/env.ts');
    const prod = await stack.server({ NODE_ENV: 'production', ...PRODUCTION_SECRETS });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const open = await fetch(`${prod.url}/metrics`);
    expect(open.status).toBe(401);
    expect(open.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await open.text()).not.toMatch(/surge_/);
    expect((await fetch(`${prod.url}/metrics`, { headers: bearer('wrong-token') })).status).toBe(401);
    const ok = await fetch(`${prod.url}/metrics`, { headers: bearer(PRODUCTION_SECRETS.METRICS_TOKEN) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP surge_/m);
    // Development without a token: open as before (local Prometheus, the bench's probes).
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);

    const worker = await stack.worker({ METRICS_TOKEN: PRODUCTION_SECRETS.METRICS_TOKEN });
    const w = `http://127.0.0.1:${worker.port}/metrics`;
    expect((await fetch(w)).status).toBe(401);
    expect((await fetch(w, { headers: bearer(PRODUCTION_SECRETS.METRICS_TOKEN) })).status).toBe(200);
  });
});

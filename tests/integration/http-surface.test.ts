import type { AppRouter } from '@surge/server/router';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { eventually } from '../support/services.ts';
import { ADMIN_PASSWORD, createSale } from '../support/stack.ts';

const it = stackTest().extend('sale', { scope: 'file', auto: true }, async ({ stack, server }) =>
  createSale(await stack.admin(server.url), { id: 'surface', totalStock: 100, perUserLimit: 5 }),
);
/** Built servers only, started by the tests. */
const withoutServer = stackTest({ server: false });

/**
 * The plain HTTP routes, sessions and cookies, production answers, shutdown
 * (docs/architecture.md#the-http-edge, docs/architecture.md#logs-metrics-health-and-audit).
 */
describe('HTTP surface', () => {
  it('GET /healthz 200; /readyz 200 with each check and the breaker; /metrics in Prometheus text', async ({
    server,
  }) => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      redis: 'ok',
      nats: 'ok',
      postgres: 'ok',
      breaker: 'closed',
    });
    const u = new TestClient(server.url);
    await u.startSession();
    await u.mutate('order.place', { saleId: 'surface', quantity: 1, idempotencyKey: 'metrics-key-1' });
    await u.mutate('order.place', { saleId: 'surface', quantity: 9, idempotencyKey: 'metrics-key-2' });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/surge_orders_accepted_total \d+/);
    expect(text).toMatch(/surge_orders_rejected_total\{reason="USER_LIMIT"\} 1/);
    expect(text).toMatch(/surge_order_place_seconds_bucket/);
    expect(text).toMatch(/surge_publish_breaker_open/);
  });

  it('session cookie is signed, HttpOnly, SameSite=Lax, 30 days; the same cookie keeps the same user; a forged one is refused', async ({
    server,
  }) => {
    const u = new TestClient(server.url);
    const r = await u.mutate<{ userId: string }>('session.start');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^surge_sid=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Max-Age=2592000/);
    const again = await u.mutate<{ userId: string }>('session.start');
    expect(again.body.result?.data.userId).toBe(r.body.result?.data.userId);

    const forger = new TestClient(server.url);
    forger.cookies.set('surge_sid', `${r.body.result?.data.userId}.forgedsignature`);
    expect(
      reasonOf(
        await forger.mutate('order.place', {
          saleId: 'surface',
          quantity: 1,
          idempotencyKey: 'forged-key-1',
        }),
      ),
    ).toBe('NO_SESSION');
  });

  it('admin cookie is HttpOnly, SameSite=Strict, 12 h; logout revokes it even if the cookie is replayed', async ({
    stack,
    server,
  }) => {
    const admin = new TestClient(server.url);
    const login = await admin.mutate('admin.login', { password: ADMIN_PASSWORD });
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/^surge_admin=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Max-Age=43200/);
    const stolen = new TestClient(server.url);
    stolen.cookies = new Map(admin.cookies);
    expect((await stolen.mutate('admin.pauseSale', { saleId: 'surface' })).status).toBe(200);
    await admin.mutate('admin.logout');
    expect(reasonOf(await stolen.mutate('admin.resumeSale', { saleId: 'surface' }))).toBe('NOT_ADMIN');
    expect(reasonOf(await new TestClient(server.url).mutate('admin.login', { password: 'wrong' }))).toBe(
      'BAD_CREDENTIALS',
    );
    await (await stack.admin(server.url)).mutate('admin.resumeSale', { saleId: 'surface' });
  });

  it('the official @trpc/client speaks to the API unchanged (no transformer)', async ({ server }) => {
    const jar = new TestClient(server.url);
    await jar.startSession();
    const client = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${server.url}/trpc`,
          headers: () => ({ cookie: [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }),
        }),
      ],
    });
    const sales = await client.sale.list.query();
    expect(sales.map((s) => s.id)).toContain('surface');
    const placed = await client.order.place.mutate({
      saleId: 'surface',
      quantity: 1,
      idempotencyKey: 'trpc-client-1',
    });
    expect(placed.status).toBe('PENDING');
    const mine = await client.order.mine.query({ saleId: 'surface' });
    expect(mine.map((o) => o.orderId)).toContain(placed.orderId);
    expect((await client.order.get.query({ orderId: placed.orderId })).quantity).toBe(1);
    const err = await client.order.place
      .mutate({ saleId: 'surface', quantity: 99, idempotencyKey: 'trpc-client-2' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data).toMatchObject({ reason: 'USER_LIMIT', httpStatus: 409 });
  });

  it('a malformed or escaping path to the web app is refused, and the server stays up', async ({
    server,
  }) => {
    const bad = await fetch(`${server.url}/%ff`);
    expect(bad.status).toBe(400);
    const escaping = await fetch(`${server.url}/..%2f..%2fpackage.json`);
    expect(await escaping.text()).not.toMatch(/"workspaces"/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('an admin may read any order; a shopper only their own', async ({ stack, server }) => {
    const shopper = new TestClient(server.url);
    await shopper.startSession();
    const placed = await shopper.mutate<{ orderId: string }>('order.place', {
      saleId: 'surface',
      quantity: 1,
      idempotencyKey: 'admin-reads-1',
    });
    const orderId = placed.body.result?.data.orderId;
    const admin = await stack.admin(server.url);
    expect((await admin.query<{ orderId: string }>('order.get', { orderId })).body.result?.data.orderId).toBe(
      orderId,
    );
    expect(reasonOf(await new TestClient(server.url).query('order.get', { orderId }))).toBe('NO_SESSION');
  });

  it('another user’s order is ORDER_NOT_FOUND, never forbidden', async ({ server }) => {
    const [a, b] = [new TestClient(server.url), new TestClient(server.url)];
    await Promise.all([a.startSession(), b.startSession()]);
    const placed = await a.mutate<{ orderId: string }>('order.place', {
      saleId: 'surface',
      quantity: 1,
      idempotencyKey: 'private-order-1',
    });
    const orderId = placed.body.result?.data.orderId;
    expect((await a.query('order.get', { orderId })).status).toBe(200);
    const other = await b.query('order.get', { orderId });
    expect(other.status).toBe(404);
    expect(reasonOf(other)).toBe('ORDER_NOT_FOUND');
  });
});

describe('production process', () => {
  withoutServer('refuses to start with a default secret, naming the variable', async ({ stack }) => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['apps/server/dist/main.js'], {
      env: {
        ...process.env,
        ...stack.env({ NODE_ENV: 'production', ADMIN_PASSWORD: 'admin', LOG_LEVEL: 'info' }),
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/ADMIN_PASSWORD/);
  });

  withoutServer(
    'answers errors without stack traces, and SIGTERM answers every request in flight before exiting',
    async ({ stack }) => {
      const prod = await stack.spawnServer({
        NODE_ENV: 'production',
        ADMIN_PASSWORD: 'a-long-production-password',
        SESSION_SECRET: 'production-session-secret-0123456789',
      });
      const admin = new TestClient(prod.url);
      await admin.loginAdmin('a-long-production-password');
      await createSale(admin, { id: 'prod', totalStock: 100_000, perUserLimit: 100 });
      const u = new TestClient(prod.url);
      await u.startSession();
      const bad = await u.raw('POST', '/trpc/order.place', {
        body: '{"saleId":',
        headers: { 'content-type': 'application/json' },
      });
      expect(bad.status).toBe(400);
      expect(bad.text).not.toMatch(/stack|at \w+ \(/);
      const limit = await u.mutate('order.place', {
        saleId: 'prod',
        quantity: 101,
        idempotencyKey: 'prod-key-001',
      });
      expect(JSON.stringify(limit.body)).not.toMatch(/"stack"/);

      const inFlight = Array.from({ length: 100 }, (_, i) =>
        u.mutate('order.place', { saleId: 'prod', quantity: 1, idempotencyKey: `shutdown-key-${i}` }).then(
          (a) => a.status,
          () => 'dropped',
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
      prod.child.kill('SIGTERM');
      const statuses = await Promise.all(inFlight);
      await eventually(async () => prod.child.exitCode !== null, 20_000);
      expect(prod.child.exitCode).toBe(0);
      // Requests that reached the server were answered; a refused connection after close is fine.
      const answered = statuses.filter((s) => typeof s === 'number');
      expect(answered.length).toBeGreaterThan(0);
      expect(answered.filter((s) => s !== 200)).toEqual([]);
    },
  );
});

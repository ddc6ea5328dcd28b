import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { createSale } from '../support/stack.ts';

/**
 * README.md#security / issue 10 H2: no read is free. Every query and subscription counts against its IP
 * group (RATE_LIMIT_READS_PER_IP, its own switch); mutations are not counted here.
 */
const it = stackTest({ server: { RATE_LIMIT_READS_PER_IP: '5', TRUST_PROXY: 'true' } });

describe('read limits (H2)', () => {
  it('the 6th read of a window from one IP group is 429 RATE_LIMITED; other groups and mutations go on', async ({
    server,
  }) => {
    const c = new TestClient(server.url, { 'x-forwarded-for': '2001:db8:55:1::1' });
    for (let i = 0; i < 3; i++) expect((await c.query('sale.list')).status).toBe(200);
    expect((await c.query('sale.get', { saleId: 'none' })).status).toBe(404);
    expect((await c.query('session.challenge')).status).toBe(200);
    // The same /64 from another address: the same budget, used up.
    const sameNet = new TestClient(server.url, { 'x-forwarded-for': '2001:db8:55:1::2' });
    const limited = await sameNet.query('sale.list');
    expect(limited.status).toBe(429);
    expect(reasonOf(limited)).toBe('RATE_LIMITED');
    expect(limited.body.error?.data.retryAfterMs).toBeGreaterThan(0);
    // A subscription is a read too.
    const sse = await sameNet.raw('GET', `/trpc/live.sale?input=${encodeURIComponent('{"saleId":"none"}')}`);
    expect(sse.text).toMatch(/RATE_LIMITED|429/);
    // A mutation is not a read.
    expect((await sameNet.mutate('session.start', {})).status).toBe(200);
    // Another network has its own budget.
    expect(
      (await new TestClient(server.url, { 'x-forwarded-for': '2001:db8:55:2::1' }).query('sale.list')).status,
    ).toBe(200);
  });
  it('a live stream of a sale that exists (served by the fan-out) pays the same read budget', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'reads-fan', totalStock: 5, perUserLimit: 1 });
    const c = new TestClient(server.url, { 'x-forwarded-for': '2001:db8:56:1::1' });
    for (let i = 0; i < 5; i++) expect((await c.query('sale.get', { saleId: 'reads-fan' })).status).toBe(200);
    const sse = await c.raw('GET', `/trpc/live.sale?input=${encodeURIComponent('{"saleId":"reads-fan"}')}`);
    expect(sse.text).toMatch(/RATE_LIMITED|429/);
  });
});

import { get, type IncomingMessage } from 'node:http';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { createSale } from '../support/stack.ts';

/**
 * README.md#security / issue 10 M1: SSE_MAX_PER_IP holds across servers — two built server
 * processes share each IP group's count in Redis — and the streams of a server killed with
 * SIGKILL stop counting once their lease (SSE_LEASE_S) runs out, so a crash leaks no places.
 */
const CAPS = { SSE_MAX_PER_IP: '2', SSE_LEASE_S: '2', TRUST_PROXY: 'true' };
const it = stackTest({ server: CAPS });

const openStream = (url: string, ip: string) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    const input = encodeURIComponent(JSON.stringify({ saleId: 'caps-x' }));
    get(
      `${url}/trpc/live.sale?input=${input}`,
      { headers: { 'x-forwarded-for': ip, accept: 'text/event-stream' } },
      (res) => {
        res.on('data', () => undefined);
        resolve(res);
      },
    ).on('error', reject);
  });
const closed = (res: IncomingMessage) => new Promise<void>((r) => res.once('close', () => r()));

describe('SSE_MAX_PER_IP across servers (M1)', () => {
  it('two server processes share the cap of an IP group; a SIGKILLed server’s streams stop counting after their lease', async ({
    stack,
    admin,
  }) => {
    await createSale(admin, { id: 'caps-x', totalStock: 5, perUserLimit: 1 });
    const [a, b] = await Promise.all([stack.spawnServer(CAPS), stack.spawnServer(CAPS)]);
    const net = '2001:db8:aa:1';

    // One stream on each server: the group's two places, whichever server holds them.
    const onA = await openStream(a.url, `${net}::1`);
    const onB = await openStream(b.url, `${net}::2`);
    expect([onA.statusCode, onB.statusCode]).toEqual([200, 200]);
    expect((await openStream(a.url, `${net}::3`)).statusCode).toBe(429);
    expect((await openStream(b.url, `${net}::4`)).statusCode).toBe(429);
    // Another group is not affected.
    const other = await openStream(b.url, '2001:db8:aa:2::1');
    expect(other.statusCode).toBe(200);

    // Closing a stream on A frees a place on B.
    const gone = closed(onA);
    onA.destroy();
    await gone;
    let next: IncomingMessage | undefined;
    for (let i = 0; i < 50 && next?.statusCode !== 200; i++) {
      next?.destroy();
      next = await openStream(b.url, `${net}::5`);
    }
    expect(next?.statusCode).toBe(200);
    next?.destroy();
    onB.destroy();
    other.destroy();

    // A holds both places of a group, then dies without closing anything.
    const crashNet = '2001:db8:aa:3';
    const held = [await openStream(a.url, `${crashNet}::1`), await openStream(a.url, `${crashNet}::2`)];
    expect(held.map((r) => r.statusCode)).toEqual([200, 200]);
    expect((await openStream(b.url, `${crashNet}::3`)).statusCode).toBe(429);
    await a.kill('SIGKILL');
    // B admits the group again once A's streams are past their lease (2 s), not never.
    let after: IncomingMessage | undefined;
    for (let i = 0; i < 100 && after?.statusCode !== 200; i++) {
      after?.destroy();
      await new Promise((r) => setTimeout(r, 100));
      after = await openStream(b.url, `${crashNet}::4`);
    }
    expect(after?.statusCode, 'the crashed server’s streams still count').toBe(200);
    after?.destroy();
  });

  it('a live server keeps its streams counted past their lease (it renews them)', async ({ server }) => {
    const net = '2001:db8:aa:4';
    const held = [await openStream(server.url, `${net}::1`), await openStream(server.url, `${net}::2`)];
    expect(held.map((r) => r.statusCode)).toEqual([200, 200]);
    // Three leases later the two streams still hold both places.
    await new Promise((r) => setTimeout(r, 6000));
    expect((await openStream(server.url, `${net}::3`)).statusCode).toBe(429);
    for (const r of held) r.destroy();
  });
});

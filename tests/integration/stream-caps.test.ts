import { get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { createSale } from '../support/stack.ts';

/**
 * README.md#security / issue 10 M1: SSE streams are capped per IP group (the next one 429), each ends
 * after SSE_MAX_DURATION_S (the connection drops, so EventSource resumes from its last event
 * id), and the server bounds its open connections.
 */
const it = stackTest({
  server: { SSE_MAX_PER_IP: '2', SSE_MAX_DURATION_S: '2', TRUST_PROXY: 'true', MAX_CONNECTIONS: '50' },
}).extend('tight', { scope: 'file' }, async ({ stack }) => stack.server({ MAX_CONNECTIONS: '2' }));

const openStream = (url: string, ip: string) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    const input = encodeURIComponent(JSON.stringify({ saleId: 'streams' }));
    get(
      `${url}/trpc/live.sale?input=${input}`,
      { headers: { 'x-forwarded-for': ip, accept: 'text/event-stream' } },
      resolve,
    ).on('error', reject);
  });
const ended = (res: IncomingMessage) =>
  new Promise<number>((resolve) => {
    const t0 = Date.now();
    res.on('data', () => undefined);
    res.once('close', () => resolve(Date.now() - t0));
  });

describe('stream and connection caps (M1)', () => {
  it('the 3rd open stream of one /64 is 429 RATE_LIMITED; a closed one frees its place; streams end after SSE_MAX_DURATION_S', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'streams', totalStock: 5, perUserLimit: 1 });
    const a = await openStream(server.url, '2001:db8:77:1::a');
    const b = await openStream(server.url, '2001:db8:77:1::b');
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const c = await openStream(server.url, '2001:db8:77:1::c');
    expect(c.statusCode).toBe(429);
    const body = await new Promise<string>((r) => {
      let t = '';
      c.on('data', (d) => (t += d)).on('end', () => r(t));
    });
    expect(JSON.parse(body).error.data.reason).toBe('RATE_LIMITED');
    // Another network is not affected.
    const other = await openStream(server.url, '2001:db8:77:2::a');
    expect(other.statusCode).toBe(200);
    // Every stream is cut after ~2 s, which frees the places.
    const lives = await Promise.all([ended(a), ended(b), ended(other)]);
    for (const ms of lives) expect(ms).toBeLessThan(4000);
    const again = await openStream(server.url, '2001:db8:77:1::d');
    expect(again.statusCode).toBe(200);
    again.destroy();
  });

  it('MAX_CONNECTIONS: sockets past the cap are closed at once', async ({ tight }) => {
    const { port } = new URL(tight.url);
    const sockets = await Promise.all(
      Array.from(
        { length: 2 },
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const s = connect(Number(port), '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    const extra = connect(Number(port), '127.0.0.1');
    const closed = await new Promise<boolean>((resolve) => {
      extra.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    expect(closed).toBe(true);
    for (const s of sockets) s.destroy();
  });
});

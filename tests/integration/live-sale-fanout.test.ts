import { request } from 'node:http';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { createSale } from '../support/stack.ts';

const it = stackTest({});

/** A raw SSE stream: its headers and its events as text, as they arrive. */
function stream(url: string, query: string) {
  const events: string[] = [];
  let headers: Record<string, unknown> = {};
  let buffer = '';
  const req = request(
    `${url}/trpc/live.sale?${query}`,
    { headers: { accept: 'text/event-stream' } },
    (res) => {
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n\n'); end >= 0; end = buffer.indexOf('\n\n\n')) {
          events.push(buffer.slice(0, end));
          buffer = buffer.slice(end + 3);
        }
      });
    },
  );
  req.end();
  return { events, headers: () => headers, close: () => req.destroy() };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
}

/**
 * docs/architecture.md#live-data: live.sale streams go through the fan-out (one frame per change,
 * serialised once for every subscriber), and a stream from it reads byte for byte like one the
 * tRPC subscription writes (here: a request with `lastEventId`, which the fan-out leaves to tRPC).
 */
describe('live.sale fan-out', () => {
  it('sends what tRPC sends: headers, connected, the same frames', async ({ server, admin }) => {
    await createSale(admin, { id: 'fan', totalStock: 50, perUserLimit: 5 });
    const input = `input=${encodeURIComponent(JSON.stringify({ saleId: 'fan' }))}`;
    const fan = stream(server.url, input);
    const viaTrpc = stream(server.url, `${input}&lastEventId=1`);
    try {
      await until(() => fan.events.length >= 2 && viaTrpc.events.length >= 2);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^surge_live_sale_streams 1$/m);
      for (const h of ['content-type', 'cache-control', 'x-accel-buffering', 'connection', 'vary'])
        expect(fan.headers()[h], h).toBe(viaTrpc.headers()[h]);
      expect(fan.events[0]).toBe(viaTrpc.events[0]);

      const shopper = new TestClient(server.url);
      await shopper.startSession();
      const placed = await shopper.mutate('order.place', {
        saleId: 'fan',
        quantity: 2,
        idempotencyKey: 'fan-key-0001',
      });
      expect(placed.status).toBe(200);
      const saw48 = (events: string[]) => events.some((e) => e.includes('"remaining":48'));
      await until(() => saw48(fan.events) && saw48(viaTrpc.events));
      const frame = (events: string[]) => events.find((e) => e.includes('"remaining":48'));
      expect(frame(fan.events)).toMatch(/^data: \{.*"remaining":48.*\}\nid: \d+$/);
      expect(frame(fan.events)).toBe(frame(viaTrpc.events));
    } finally {
      fan.close();
      viaTrpc.close();
    }
  });

  it('leaves a sale that does not exist to tRPC: its SALE_NOT_FOUND error event', async ({ server }) => {
    const s = stream(server.url, `input=${encodeURIComponent(JSON.stringify({ saleId: 'no-such-sale' }))}`);
    try {
      await until(() => s.events.some((e) => e.startsWith('event: serialized-error')));
      expect(s.events.find((e) => e.startsWith('event: serialized-error'))).toContain('SALE_NOT_FOUND');
    } finally {
      s.close();
    }
  });
});

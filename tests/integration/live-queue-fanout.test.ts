import { request } from 'node:http';
import { saleKeys } from '@surge/hot-state';
import { describe, expect } from 'vitest';
import type { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { withRedis } from '../support/inspect.ts';
import { join } from '../support/room.ts';
import { createSale, shoppers } from '../support/stack.ts';

const it = stackTest({});

/** A raw SSE stream of live.queue: its headers, its events as text as they arrive, and its end. */
function stream(url: string, query: string, client?: TestClient) {
  const events: string[] = [];
  let headers: Record<string, unknown> = {};
  let buffer = '';
  let ended = false;
  const cookie = client ? [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  const req = request(
    `${url}/trpc/live.queue?${query}`,
    { headers: { accept: 'text/event-stream', ...(cookie ? { cookie } : {}) } },
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
      res.on('end', () => {
        ended = true;
      });
    },
  );
  req.end();
  return { events, headers: () => headers, ended: () => ended, close: () => req.destroy() };
}

const input = (saleId: string) => `input=${encodeURIComponent(JSON.stringify({ saleId }))}`;

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(check()).toBe(true);
}

async function streamsServed(url: string): Promise<string | undefined> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return /^surge_live_queue_streams (\d+)$/m.exec(metrics)?.[1];
}

/** An error event's data without the development-only stack (it names each path's own frames). */
function errorOf(events: string[]) {
  const e = events.find((x) => x.startsWith('event: serialized-error\n'));
  if (!e) return undefined;
  const shape = JSON.parse(e.slice(e.indexOf('\ndata: ') + 7)) as { data: { stack?: string } };
  delete shape.data.stack;
  return shape;
}

/**
 * docs/architecture.md#live-data: a plain live.queue stream goes through the fan-out (one read of
 * the room per sale and tick for every follower, no tRPC generator per stream), and reads byte for
 * byte like the stream the tRPC subscription writes for the same shopper (here: a request with
 * `lastEventId`, which the fan-out leaves to tRPC).
 */
describe('live.queue fan-out', () => {
  it('sends what tRPC sends: headers, connected, the same ticket frames, the same error when the room is lost', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, { id: 'qfan', totalStock: 50, perUserLimit: 1, queue: { admitPerSecond: 2 } });
    await admin.mutate('admin.pauseSale', { saleId: 'qfan' });
    const crowd = await shoppers(server.url, 6);
    for (const c of crowd) await join(c, 'qfan');
    const [, , third, , , last] = crowd as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
    const fan = stream(server.url, input('qfan'), third);
    const viaTrpc = stream(server.url, `${input('qfan')}&lastEventId=1`, third);
    const lastFan = stream(server.url, input('qfan'), last);
    const lastTrpc = stream(server.url, `${input('qfan')}&lastEventId=1`, last);
    try {
      await until(() => [fan, viaTrpc, lastFan, lastTrpc].every((s) => s.events.length >= 2));
      expect(await streamsServed(server.url)).toBe('2');
      for (const h of ['content-type', 'cache-control', 'x-accel-buffering', 'connection', 'vary'])
        expect(fan.headers()[h], h).toBe(viaTrpc.headers()[h]);
      // Every header alike (the date and the request's own correlation id aside).
      const names = (h: Record<string, unknown>) => Object.keys(h).sort();
      expect(names(fan.headers())).toEqual(names(viaTrpc.headers()));
      expect(fan.headers()['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(fan.events[0]).toBe(viaTrpc.events[0]);
      expect(fan.events[0]).toMatch(/^event: connected\ndata: \{.*\}$/);
      const data = (e: string | undefined) => JSON.parse(String(e).split('\n')[0]?.slice(6) ?? '') as object;
      expect(data(fan.events[1])).toEqual(data(viaTrpc.events[1]));
      expect(data(fan.events[1])).toMatchObject({ state: 'waiting', position: 3, ahead: 2, etaMs: null });

      // Admission runs: the places count down, then the third shopper is admitted with a token.
      await admin.mutate('admin.resumeSale', { saleId: 'qfan' });
      const admitted = (events: string[]) => events.find((e) => e.includes('"state":"admitted"'));
      await until(() => admitted(fan.events) !== undefined && admitted(viaTrpc.events) !== undefined);
      expect(admitted(fan.events)).toMatch(
        /^data: \{"saleId":"qfan".*"admissionToken":"[^"]+".*\}\nid: \d+$/,
      );
      expect(admitted(fan.events)).toBe(admitted(viaTrpc.events));
      const waitingFrames = (events: string[]) =>
        events.filter((e) => e.includes('"state":"waiting"')).slice(1);
      await until(() => lastFan.events.length >= 3 && lastTrpc.events.length >= 3);
      await admin.mutate('admin.setAdmission', { saleId: 'qfan', admitPerSecond: 0 });
      // The frames of the same reads of the room are the same bytes, id included.
      const shared = waitingFrames(lastFan.events).filter((e) => waitingFrames(lastTrpc.events).includes(e));
      expect(shared.length).toBeGreaterThan(0);

      // Redis loses the room: the streams of a waiting shopper end with NOT_IN_QUEUE, alike.
      const k = saleKeys(stack.ns, 'qfan');
      await withRedis((r) => r.del(k.qTix, k.qLine, k.qWin, k.qOut));
      await until(() => errorOf(lastFan.events) !== undefined && errorOf(lastTrpc.events) !== undefined);
      expect(errorOf(lastFan.events)).toEqual(errorOf(lastTrpc.events));
      expect(errorOf(lastFan.events)).toMatchObject({ data: { reason: 'NOT_IN_QUEUE', path: 'live.queue' } });
      await until(() => lastFan.ended() && lastTrpc.ended());
    } finally {
      for (const s of [fan, viaTrpc, lastFan, lastTrpc]) s.close();
    }
  });

  it('leaves the rest to tRPC: no session, no ticket, an unqueued sale', async ({ server, admin }) => {
    await createSale(admin, { id: 'qrest', totalStock: 5, perUserLimit: 1, queue: { admitPerSecond: 1 } });
    await createSale(admin, { id: 'plain', totalStock: 5, perUserLimit: 1 });
    const [stranger] = (await shoppers(server.url, 1)) as [TestClient];
    const anonymous = stream(server.url, input('qrest'));
    const noTicket = stream(server.url, input('qrest'), stranger);
    const unqueued = stream(server.url, input('plain'), stranger);
    try {
      await until(() => anonymous.ended() && noTicket.ended() && unqueued.ended());
      expect(errorOf(anonymous.events)).toMatchObject({ data: { reason: 'NO_SESSION' } });
      expect(errorOf(noTicket.events)).toMatchObject({ data: { reason: 'NOT_IN_QUEUE' } });
      // Whatever the procedure answers on a sale without a room, tRPC wrote it (and ended).
      expect(unqueued.events[0]).toMatch(/^event: connected\n/);
      expect(await streamsServed(server.url)).toBe('0');
    } finally {
      for (const s of [anonymous, noTicket, unqueued]) s.close();
    }
  });
});

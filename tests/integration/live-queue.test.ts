import type { Ticket } from '@surge/contracts';
import { saleKeys } from '@surge/hot-state';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { withRedis } from '../support/inspect.ts';
import { join, roomState, ticket } from '../support/room.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';
import { collect, trpcClient } from '../support/trpc-client.ts';

const it = stackTest();
const data = (x: unknown) => (x as { data: Ticket }).data;

/** docs/architecture.md#the-waiting-room live.queue over SSE, and the room surviving flushes and rebuilds. */
describe('live.queue', () => {
  it('docs/architecture.md#the-waiting-room: live.queue pushes the caller’s ticket — the place counting down, then admitted with a token — and refuses a caller without a ticket with NOT_IN_QUEUE', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'follow', totalStock: 100, perUserLimit: 1, queue: { admitPerSecond: 2 } });
    await admin.mutate('admin.pauseSale', { saleId: 'follow' });
    const crowd = await shoppers(server.url, 6);
    for (const c of crowd) await join(c, 'follow');
    const last = crowd.at(-1) as TestClient;
    const sub = collect<unknown>((h) => trpcClient(last).live.queue.subscribe({ saleId: 'follow' }, h));
    await eventually(async () => sub.frames.length > 0);
    expect(data(sub.frames[0])).toMatchObject({ state: 'waiting', position: 6, ahead: 5, etaMs: null });
    await admin.mutate('admin.resumeSale', { saleId: 'follow' });
    const admittedFrame = await eventually(async () =>
      sub.frames.map(data).find((t) => t.state === 'admitted'),
    );
    expect(admittedFrame.admissionToken).toBe((await ticket(last, 'follow')).admissionToken);
    const positions = sub.frames
      .map(data)
      .filter((t) => t.state === 'waiting')
      .map((t) => t.position);
    expect(positions.length).toBeGreaterThan(2);
    expect(positions).toEqual([...positions].sort((a, b) => b - a));
    sub.stop();
    expect(sub.errors).toEqual([]);

    const stranger = new TestClient(server.url);
    await stranger.startSession();
    const refused = collect<unknown>((h) =>
      trpcClient(stranger).live.queue.subscribe({ saleId: 'follow' }, h),
    );
    await eventually(async () => refused.errors.length > 0);
    refused.stop();
    expect(String((refused.errors[0] as { data?: { reason?: string } }).data?.reason)).toBe('NOT_IN_QUEUE');
  });

  it('docs/architecture.md#the-waiting-room: admin.flushCache (a rebuild) keeps the waiting room: same places, same cursor', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, { id: 'kept', totalStock: 100, perUserLimit: 1, queue: { admitPerSecond: 3 } });
    const crowd = await shoppers(server.url, 12);
    for (const c of crowd) await join(c, 'kept');
    await admin.mutate('admin.setAdmission', { saleId: 'kept', admitPerSecond: 0 });
    const before = await roomState(stack.ns, 'kept');
    const flushed = await admin.mutate('admin.flushCache', { saleId: 'kept' });
    expect(flushed.status).toBe(200);
    const after = await roomState(stack.ns, 'kept');
    expect(after).toEqual(before);
    const view = await server.services.domain.sales.get('kept');
    expect(view.queue).toMatchObject({
      admitPerSecond: 0,
      waiting: 12 - before.cursor,
      admitted: before.cursor,
    });
    expect((await ticket(crowd[0] as TestClient, 'kept')).state).toMatch(/waiting|admitted/);
  });

  it('docs/architecture.md#the-waiting-room: an expired ticket reads `expired` and joining again goes to the end of the line; a room Redis lost answers NOT_IN_QUEUE and a join starts over', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, {
      id: 'again',
      totalStock: 100,
      perUserLimit: 1,
      queue: { admitPerSecond: 1000 },
    });
    const [first, ...others] = await shoppers(server.url, 4);
    await join(first as TestClient, 'again');
    await eventually(async () => (await ticket(first as TestClient, 'again')).state === 'admitted');
    await admin.mutate('admin.setAdmission', { saleId: 'again', admitPerSecond: 0 });
    for (const c of others) await join(c, 'again');
    // Age the first shopper's admission past tokenTtlS (300 s) in Redis: the ticket expires.
    const k = saleKeys(stack.ns, 'again');
    await withRedis(async (r) => {
      const raw = (await r.hget(k.qTix, first?.userId as string)) as string;
      const [member, at] = raw.split('|') as [string, string];
      await r.hset(k.qTix, first?.userId as string, `${member}|${Number(at) - 301_000}`);
    });
    expect(await ticket(first as TestClient, 'again')).toMatchObject({
      state: 'expired',
      admissionToken: null,
    });
    const rejoined = await join(first as TestClient, 'again');
    expect(rejoined).toMatchObject({ state: 'waiting', position: 4, ahead: 3 });
    const room = await roomState(stack.ns, 'again');
    expect(room.places.at(-1)?.userId).toBe(first?.userId);

    // Redis loses the room: NOT_IN_QUEUE, and joining starts a new line.
    await withRedis((r) => r.del(k.qTix, k.qLine, k.qWin, k.qOut));
    const lost = await (first as TestClient).query('queue.get', { saleId: 'again' });
    expect([lost.status, reasonOf(lost)]).toEqual([404, 'NOT_IN_QUEUE']);
    expect(await join(first as TestClient, 'again')).toMatchObject({ state: 'waiting', position: 1 });
  });
});

import type { Ticket } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { join, roomState, ticket } from '../support/room.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';
import { collect, trpcClient } from '../support/trpc-client.ts';

const it = stackTest();
const data = (x: unknown) => (x as { data: Ticket }).data;

/** SPEC §8 live.queue over SSE, and the room surviving flushes and rebuilds. */
describe('live.queue', () => {
  it('SPEC §8: live.queue pushes the caller’s ticket — the place counting down, then admitted with a token — and refuses a caller without a ticket with NOT_IN_QUEUE', async ({
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

  it('SPEC §8: admin.flushCache (a rebuild) keeps the waiting room: same places, same cursor', async ({
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
});

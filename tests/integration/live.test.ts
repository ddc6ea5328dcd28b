import type { HudEvent, HudFrame, LiveOrder, LiveSale } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { eventually } from '../support/services.ts';
import { createSale } from '../support/stack.ts';
import { collect, trpcClient } from '../support/trpc-client.ts';

const data = <T>(x: unknown) => (x as { data: T }).data;

/** Two servers (`a` is the file's server) and a worker, one sale. */
const it = stackTest()
  .extend('b', { scope: 'file', auto: true }, async ({ stack }) => stack.server())
  .extend('liveWorker', { scope: 'file', auto: true }, async ({ stack }) =>
    stack.worker({ WORKER_ID: 'live-worker', HEARTBEAT_MS: '200' }),
  )
  .extend('sale', { scope: 'file', auto: true }, async ({ admin }) =>
    createSale(admin, { id: 'live', totalStock: 100, perUserLimit: 5 }),
  );

/**
 * docs/architecture.md#live-data: live.* over SSE with the official client: data comes from
 * Redis/NATS, so a subscriber on one server sees orders placed through another; frames are tracked.
 */
describe('live subscriptions', () => {
  it('live.sale on server A follows orders placed through server B', async ({ server: a, b }) => {
    const watcher = new TestClient(a.url);
    const sub = collect<unknown>((h) => trpcClient(watcher).live.sale.subscribe({ saleId: 'live' }, h));
    await eventually(async () => sub.frames.length > 0);
    expect(data<LiveSale>(sub.frames[0]).remaining).toBe(100);
    const buyer = new TestClient(b.url);
    await buyer.startSession();
    await buyer.mutate('order.place', { saleId: 'live', quantity: 3, idempotencyKey: 'live-sale-key-1' });
    await eventually(async () => sub.frames.some((f) => data<LiveSale>(f).remaining === 97));
    expect((sub.frames.at(-1) as { id: string }).id).toMatch(/^\d+$/);
    sub.stop();
    expect(sub.errors).toEqual([]);
  });

  it('live.order follows the caller’s order PENDING → final, and refuses another user’s order', async ({
    server: a,
    b,
  }) => {
    const buyer = new TestClient(b.url);
    await buyer.startSession();
    const placed = await buyer.mutate<{ orderId: string }>('order.place', {
      saleId: 'live',
      quantity: 1,
      idempotencyKey: 'live-order-key',
    });
    const orderId = placed.body.result?.data.orderId ?? '';
    const mine = new TestClient(a.url);
    mine.cookies = buyer.cookies;
    const sub = collect<unknown>((h) => trpcClient(mine).live.order.subscribe({ orderId }, h));
    await eventually(async () => sub.frames.some((f) => data<LiveOrder>(f).status === 'CONFIRMED'));
    sub.stop();

    const stranger = new TestClient(a.url);
    await stranger.startSession();
    const denied = collect<unknown>((h) => trpcClient(stranger).live.order.subscribe({ orderId }, h));
    await eventually(async () => denied.errors.length > 0);
    expect(JSON.stringify((denied.errors[0] as { data?: unknown }).data)).toMatch(/ORDER_NOT_FOUND/);
    denied.stop();
  });

  it('live.hud needs an admin; it shows sales, throughput, queue, health of every instance and the event feed with history', async ({
    stack,
    server: a,
    b,
    liveWorker: worker,
  }) => {
    const guest = new TestClient(a.url);
    const refused = collect<unknown>((h) => trpcClient(guest).live.hud.subscribe(undefined, h));
    await eventually(async () => refused.errors.length > 0);
    expect(JSON.stringify((refused.errors[0] as { data?: unknown }).data)).toMatch(/NOT_ADMIN/);
    refused.stop();

    const admin = await stack.admin(b.url);
    await admin.mutate('admin.pauseSale', { saleId: 'live' });
    await admin.mutate('admin.resumeSale', { saleId: 'live' });
    const hud = collect<unknown>((h) => trpcClient(admin).live.hud.subscribe(undefined, h));
    await eventually(async () => hud.frames.length > 0);
    const first = data<HudFrame>(hud.frames[0]);
    // History on connect: the admin actions above are in the first frame.
    expect(first.events.map((e) => e.message).join('\n')).toMatch(/admin\.pauseSale/);
    expect(first.sales.find((s) => s.id === 'live')).toMatchObject({ state: 'live', totalStock: 100 });
    expect(first.health).toMatchObject({ redis: 'up', nats: 'up', postgres: 'up', breaker: 'closed' });
    const kinds = first.health.instances.filter((i) => i.health === 'up').map((i) => i.kind);
    expect(kinds.filter((k) => k === 'server').length).toBeGreaterThanOrEqual(2);
    expect(first.health.instances.find((i) => i.id === 'live-worker')?.health).toBe('up');

    // Orders placed through the other server show up as throughput and stock.
    const buyer = new TestClient(a.url);
    await buyer.startSession();
    for (let i = 0; i < 4; i++)
      await buyer.mutate('order.place', {
        saleId: 'live',
        quantity: 1,
        idempotencyKey: `hud-order-${i}-key`,
      });
    await eventually(async () => hud.frames.some((f) => data<HudFrame>(f).throughput.acceptedPerSec > 0));
    await eventually(async () => hud.frames.some((f) => data<HudFrame>(f).throughput.persistedPerSec > 0));

    // A new admin action arrives as a fresh event, once (no repeats across frames).
    await admin.mutate('admin.restock', { saleId: 'live', quantity: 5 });
    await eventually(async () =>
      hud.frames.some((f) => data<HudFrame>(f).events.some((e) => /admin\.restock/.test(e.message))),
    );
    const all: HudEvent[] = hud.frames.flatMap((f) => data<HudFrame>(f).events);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);

    // A stopped worker turns down on the HUD.
    await worker.close();
    await eventually(async () => {
      const last = data<HudFrame>(hud.frames.at(-1));
      return last.health.instances.find((i) => i.id === 'live-worker')?.health === 'down';
    });
    hud.stop();
  });

  it('a reconnecting HUD client resumes after its last event id without repeats', async ({
    stack,
    server: a,
  }) => {
    const admin = await stack.admin(a.url);
    const ids = (await a.services.domain.events.recent(100)).map((e) => e.id);
    const middle = ids[Math.floor(ids.length / 2)] ?? '0-0';
    const resumed = collect<unknown>((h) => trpcClient(admin).live.hud.subscribe({ lastEventId: middle }, h));
    await eventually(async () => resumed.frames.length > 0);
    const got = data<HudFrame>(resumed.frames[0]).events.map((e) => e.id);
    expect(got[0]).toBe(ids[ids.indexOf(middle) + 1]);
    expect(got).not.toContain(middle);
    resumed.stop();
  });
});

import type { HudFrame, HudSale } from '@surge/contracts';
import { saleKeys } from '@surge/hot-state';
import { Redis } from 'ioredis';
import { describe, expect, vi } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { eventually, SHARED, sleep } from '../support/services.ts';
import { createSale } from '../support/stack.ts';
import { collect, trpcClient } from '../support/trpc-client.ts';

const data = <T>(x: unknown) => (x as { data: T }).data;
const it = stackTest({ worker: {} });

/**
 * docs/architecture.md#live-data: a sale that has ended with nothing in flight is read by the
 * HUD from its hot hash alone (live/hud-snapshot.ts, SettledSales) — beside sales read in full,
 * every figure must stay where it belongs, a settled sale must cost fewer commands, and a change
 * to its hash or a rebuild flag must show at once.
 */
describe('HUD with settled sales', () => {
  it('shows settled sales and a live one right, frame after frame, and a write to a settled sale’s hash at once', async ({
    server,
    admin,
    stack,
  }) => {
    const now = Date.now();
    for (const id of ['done-a', 'done-b'])
      await createSale(admin, {
        id,
        totalStock: 50,
        perUserLimit: 5,
        startsAt: new Date(now - 1000).toISOString(),
        endsAt: new Date(now + 2500).toISOString(),
      });
    await createSale(admin, { id: 'open', totalStock: 40, perUserLimit: 10 });
    const buyer = new TestClient(server.url);
    await buyer.startSession();
    const buy = (saleId: string, quantity: number, key: string) =>
      buyer.mutate('order.place', { saleId, quantity, idempotencyKey: key });
    expect((await buy('done-a', 2, 'settled-a-key')).status).toBe(200);
    expect((await buy('done-b', 3, 'settled-b-key')).status).toBe(200);
    await sleep(Math.max(0, now + 2700 - Date.now()));

    const hud = collect<unknown>((h) => trpcClient(admin).live.hud.subscribe(undefined, h));
    const sale = (f: unknown, id: string) => data<HudFrame>(f).sales.find((s) => s.id === id) as HudSale;
    // Settled: ended, its orders persisted (no outbox entry).
    await eventually(async () => {
      const last = hud.frames.at(-1);
      return !!last && sale(last, 'done-a')?.outbox === 0 && sale(last, 'done-b')?.outbox === 0;
    });
    const from = hud.frames.length;
    for (let i = 0; i < 4; i++) await buy('open', 1, `settled-open-${i}-key`);
    await eventually(async () => (sale(hud.frames.at(-1), 'open')?.remaining ?? 0) === 36);
    await sleep(600); // a few more frames
    const seen = hud.frames.slice(from);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const f of seen) {
      expect(sale(f, 'done-a')).toMatchObject({ state: 'ended', remaining: 48, totalStock: 50, outbox: 0 });
      expect(sale(f, 'done-b')).toMatchObject({ state: 'ended', remaining: 47, totalStock: 50, outbox: 0 });
      expect(sale(f, 'open')).toMatchObject({ state: 'live', totalStock: 40 });
    }
    expect(seen.map((f) => sale(f, 'open').remaining)).toContain(36);

    // What a read costs: a settled sale's outbox and room are not read again, a live sale's are.
    const stores = server.services.stores.redis;
    const zcard = vi.spyOn(stores, 'zcard');
    const zcardsOf = (id: string) =>
      zcard.mock.calls.filter(([key]) => String(key).includes(`{sale:${id}}`)).length;
    await server.services.domain.hud.read();
    expect(zcardsOf('done-a')).toBe(0);
    expect(zcardsOf('done-b')).toBe(0);
    expect(zcardsOf('open')).toBeGreaterThanOrEqual(3);

    // A rebuild flag on a settled sale (set before the rebuild writes anything) is seen by the
    // next read and sends the sale back to full reads.
    const redis = new Redis(SHARED.redis);
    await redis.set(saleKeys(stack.ns, 'done-b').rebuild, '1');
    await server.services.domain.hud.read();
    zcard.mockClear();
    await server.services.domain.hud.read();
    expect(zcardsOf('done-b')).toBe(3);
    await redis.del(saleKeys(stack.ns, 'done-b').rebuild);
    zcard.mockRestore();

    // Any write to the settled sale's hot hash (a worker, an admin step) shows in the next
    // frames: the hash is read every time and compared.
    await redis.hset(saleKeys(stack.ns, 'done-a').hot, 'remaining', '45');
    const before = hud.frames.length;
    await eventually(async () => hud.frames.slice(before).some((f) => sale(f, 'done-a').remaining === 45));
    await eventually(async () => sale(hud.frames.at(-1), 'done-a').remaining === 45);
    expect(sale(hud.frames.at(-1), 'done-b').remaining).toBe(47);
    redis.disconnect();
    hud.stop();
    expect(hud.errors).toEqual([]);
  });
});

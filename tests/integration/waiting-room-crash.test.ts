import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { join, roomState, ticket } from '../support/room.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

const it = stackTest({ worker: {} });

/**
 * docs/architecture.md#invariants I8 / §8: the room lives in Redis, so a server killed with SIGKILL while shoppers
 * wait costs nobody their place; the admission clock of the surviving server admits them, in
 * the same order.
 */
describe('a server crash while shoppers wait', () => {
  it('I8: after kill -9 of one of two server processes sharing the room, everyone keeps their place and is admitted later, in line order', async ({
    stack,
    server: survivor,
    admin,
  }) => {
    const doomed = await stack.spawnServer();
    const startsMs = Date.now() + 2500;
    await createSale(admin, {
      id: 'crash-room',
      totalStock: 10_000,
      perUserLimit: 1,
      startsAt: new Date(startsMs).toISOString(),
      queue: { admitPerSecond: 25 },
    });
    // Half the crowd joins through the server that dies, half through the survivor.
    const viaDoomed = await shoppers(doomed.url, 30);
    const viaSurvivor = await shoppers(survivor.url, 30);
    for (const c of [...viaDoomed, ...viaSurvivor]) await join(c, 'crash-room');
    // Admission has begun on both clocks when the kill comes.
    await eventually(async () => (await roomState(stack.ns, 'crash-room')).cursor >= 5, 10_000);
    const before = await roomState(stack.ns, 'crash-room');
    doomed.child.kill('SIGKILL');
    await eventually(async () => doomed.child.signalCode === 'SIGKILL');

    const after = await eventually(async () => {
      const r = await roomState(stack.ns, 'crash-room');
      return r.cursor === 60 ? r : null;
    }, 20_000);
    // Same line, same order, every place admitted, admission times in line order.
    expect(after.places.map((p) => p.member)).toEqual(before.places.map((p) => p.member));
    const times = after.places.map((p) => p.admittedAtMs as number);
    expect(times.every((t) => t >= startsMs)).toBe(true);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    // The shoppers of the dead server read their admitted ticket, and buy, on the survivor.
    const accepted = new Set<string>();
    for (const c of viaDoomed.slice(0, 5)) {
      const moved = new TestClient(survivor.url);
      moved.cookies = c.cookies;
      const t = await ticket(moved, 'crash-room');
      expect(t.state).toBe('admitted');
      const r = await moved.mutate('order.place', {
        saleId: 'crash-room',
        quantity: 1,
        idempotencyKey: `crash-room-${c.userId}`,
        admissionToken: t.admissionToken,
      });
      expect(r.status).toBe(200);
      accepted.add(String((r.body.result?.data as { orderId?: string } | undefined)?.orderId));
    }
    // I1–I6, and I8 from the room and PostgreSQL: orders only by admitted shoppers, admissions
    // in line order, never more than 25 within any second.
    await waitForDrain(stack.ns, 'crash-room');
    await checkInvariants({
      prisma: survivor.services.stores.prisma,
      ns: stack.ns,
      saleId: 'crash-room',
      total: 10_000,
      perUserLimit: 1,
      accepted,
    });
  });
});

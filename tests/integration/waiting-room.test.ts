import { describe, expect } from 'vitest';
import { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { join, maxPerSecond, roomState, spearman, ticket } from '../support/room.ts';
import { eventually, sleep } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

/** Two servers (`a` is the file's server): each ticks the admission clock of every queued sale. */
const it = stackTest().extend('b', { scope: 'file', auto: true }, async ({ stack }) => stack.server());

const PRE = 520;
const POST = 40;
const RATE = 150;

/**
 * docs/architecture.md#invariants I8 / §8 under concurrency, two servers sharing one room: a uniformly random order
 * among those who joined before the start, then arrival order; admissions in queue order and
 * never more than admitPerSecond in any one-second window.
 */
describe('I8 fair admission', () => {
  it('I8: ≥ 500 pre-start joiners get a random order (|Spearman ρ| < 0.2), post-start joiners follow in arrival order, admission follows the line at ≤ admitPerSecond in any second across two servers', async ({
    server: a,
    b,
    admin,
    stack,
  }) => {
    const early = await shoppers(a.url, PRE);
    const late = await shoppers(b.url, POST);
    const startsMs = Date.now() + 5000;
    const sale = await createSale(admin, {
      id: 'fair',
      totalStock: 100_000,
      perUserLimit: 1,
      startsAt: new Date(startsMs).toISOString(),
      queue: { admitPerSecond: RATE },
    });
    expect(sale).toMatchObject({
      state: 'scheduled',
      queue: { waiting: 0, admitted: 0, admitPerSecond: RATE },
    });

    // Pre-start joins, one after the other, alternating servers: the join order is known.
    const joinOrder = new Map<string, number>();
    for (const [i, c] of early.entries()) {
      const via = new TestClient(i % 2 === 0 ? a.url : b.url);
      via.cookies = c.cookies;
      const t = await join(via, 'fair');
      expect(t).toMatchObject({ state: 'waiting', admissionToken: null });
      expect(t.position).toBeGreaterThanOrEqual(1);
      joinOrder.set(c.userId as string, i);
    }
    expect(Date.now(), 'the pre-start joins took too long for this test').toBeLessThan(startsMs - 200);
    // Joining again keeps the place.
    const again = await join(early[0] as TestClient, 'fair');
    expect(again.state).toBe('waiting');
    expect((await roomState(stack.ns, 'fair')).places).toHaveLength(PRE);

    await sleep(Math.max(0, startsMs - Date.now()) + 100);
    for (const c of late) await join(c, 'fair');
    const lateOrder = late.map((c) => c.userId as string);

    const done = await eventually(async () => {
      const r = await roomState(stack.ns, 'fair');
      return r.cursor === PRE + POST ? r : null;
    }, 30_000);
    const places = done.places;

    // Line: every pre-start place (random, in [0, 1)) before every post-start one (1 + arrival).
    const pre = places.filter((p) => joinOrder.has(p.userId));
    const post = places.filter((p) => !joinOrder.has(p.userId));
    expect(pre).toHaveLength(PRE);
    expect(places.slice(0, PRE).every((p) => joinOrder.has(p.userId))).toBe(true);
    expect(pre.every((p) => p.score >= 0 && p.score < 1)).toBe(true);
    expect(post.map((p) => p.userId)).toEqual(lateOrder);

    // Uniformly random among pre-start joiners: line rank uncorrelated with join order.
    const rho = spearman(
      pre.map((p) => joinOrder.get(p.userId) as number),
      pre.map((_, rank) => rank),
    );
    console.log(`I8: Spearman ρ(join order, place) over ${PRE} pre-start joiners = ${rho.toFixed(3)}`);
    expect(Math.abs(rho)).toBeLessThan(0.2);

    // Admission follows the line, at no more than RATE in any one-second window.
    const times = places.map((p) => p.admittedAtMs as number);
    expect(times.every((t) => Number.isFinite(t) && t >= startsMs)).toBe(true);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    const peak = maxPerSecond(times);
    console.log(`I8: at most ${peak} admissions in any 1 s window (admitPerSecond ${RATE})`);
    expect(peak).toBeLessThanOrEqual(RATE);
    expect(peak).toBeGreaterThan(RATE / 2);
    const maxPre = Math.max(...pre.map((p) => p.admittedAtMs as number));
    expect(post.every((p) => (p.admittedAtMs as number) >= maxPre)).toBe(true);

    // Every ticket reads `admitted` with a token on either server, and the token buys.
    const first = early[0] as TestClient;
    const t = await ticket(first, 'fair');
    expect(t).toMatchObject({ state: 'admitted', position: 0, ahead: 0 });
    expect(t.admissionToken).toEqual(expect.any(String));
    expect(Date.parse(t.tokenExpiresAt as string)).toBeGreaterThan(Date.now());
    const onB = new TestClient(b.url);
    onB.cookies = first.cookies;
    expect((await ticket(onB, 'fair')).admissionToken).toBe(t.admissionToken);
    const bought = await onB.mutate('order.place', {
      saleId: 'fair',
      quantity: 1,
      idempotencyKey: 'fair-buy-0001',
      admissionToken: t.admissionToken,
    });
    expect(bought.status).toBe(200);
    const view = await a.services.domain.sales.get('fair');
    expect(view.queue).toEqual({ waiting: 0, admitted: PRE + POST, admitPerSecond: RATE });
  });

  it('docs/architecture.md#the-waiting-room: a waiting ticket shows its place, the people ahead and an estimate; positions count down as the line moves', async ({
    server: a,
    admin,
  }) => {
    const crowd = await shoppers(a.url, 30);
    await createSale(admin, {
      id: 'places',
      totalStock: 1000,
      perUserLimit: 1,
      startsAt: new Date(Date.now() + 60_000).toISOString(),
      queue: { admitPerSecond: 2 },
    });
    const tickets = [];
    for (const c of crowd) tickets.push(await join(c, 'places'));
    const last = await ticket(crowd.at(-1) as TestClient, 'places');
    expect(last.waiting).toBe(30);
    const positions = await Promise.all(crowd.map(async (c) => (await ticket(c, 'places')).position));
    expect([...positions].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const c of crowd) {
      const t = await ticket(c, 'places');
      expect(t.ahead).toBe(t.position - 1);
      // Before the start: the time to the start plus the place at 2 per second.
      expect(t.etaMs).toBeGreaterThan(55_000 + t.position * 500 - 1000);
    }
  });
});

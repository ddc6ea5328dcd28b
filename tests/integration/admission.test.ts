import type { Ticket } from '@surge/contracts';
import { describe, expect } from 'vitest';
import { AdmissionTokens } from '../../apps/server/src/queue/admission-tokens.ts';
import { reasonOf, type TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState } from '../support/inspect.ts';
import { join, roomState, ticket } from '../support/room.ts';
import { eventually, sleep } from '../support/services.ts';
import { createSale, SESSION_SECRET, shoppers } from '../support/stack.ts';

const it = stackTest();

const admitted = (c: TestClient, saleId: string) =>
  eventually(async () => {
    const t = await ticket(c, saleId);
    return t.state === 'admitted' ? t : null;
  }, 10_000);

const place = (c: TestClient, saleId: string, key: string, admissionToken?: string) =>
  c.mutate<{ orderId: string; replayed: boolean }>('order.place', {
    saleId,
    quantity: 1,
    idempotencyKey: key,
    ...(admissionToken === undefined ? {} : { admissionToken }),
  });

/** docs/architecture.md#the-waiting-room / I8: no order.place is accepted on a queued sale without a valid token for (sale, user). */
describe('admission tokens', () => {
  it('I8: missing, forged, another user’s, another sale’s and expired tokens get NOT_ADMITTED 403 and reserve nothing; an admitted shopper buys up to the limit with one token; an expired token still replays an existing order', async ({
    server,
    admin,
    stack,
  }) => {
    const q = { admitPerSecond: 1000 };
    await createSale(admin, { id: 'tok', totalStock: 100, perUserLimit: 2, queue: q });
    await createSale(admin, { id: 'tok-other', totalStock: 100, perUserLimit: 2, queue: q });
    const [u1, u2] = (await shoppers(server.url, 2)) as [TestClient, TestClient];
    expect(reasonOf(await u1.query('queue.get', { saleId: 'tok' }))).toBe('NOT_IN_QUEUE');
    await join(u1, 'tok');
    await join(u2, 'tok');
    await join(u1, 'tok-other');
    const t1 = (await admitted(u1, 'tok')).admissionToken as string;
    const t2 = (await admitted(u2, 'tok')).admissionToken as string;
    const tOther = (await admitted(u1, 'tok-other')).admissionToken as string;
    expect(t1).toEqual(expect.any(String));
    // The same ticket gives the same token on every read; joining again changes nothing.
    expect((await ticket(u1, 'tok')).admissionToken).toBe(t1);
    expect((await join(u1, 'tok')).admissionToken).toBe(t1);

    const before = (await hotState(stack.ns, 'tok')).hot.remaining;
    const last = t1.at(-1) === 'A' ? 'B' : 'A';
    const [sale, user, exp, mac] = t1.split('.') as [string, string, string, string];
    const refused: [string, string | undefined][] = [
      ['missing', undefined],
      ['garbage', 'x'],
      ['tampered signature', `${t1.slice(0, -1)}${last}`],
      ['extended expiry', `${sale}.${user}.${Number(exp) + 3_600_000}.${mac}`],
      ['another user’s', t2],
      ['another sale’s', tOther],
      [
        'expired, genuine',
        new AdmissionTokens(SESSION_SECRET).sign('tok', u1.userId as string, Date.now() - 1000),
      ],
      ['512 characters', 'a'.repeat(512)],
    ];
    for (const [what, token] of refused) {
      const r = await place(u1, 'tok', `refused-${what.replace(/\W/g, '')}-1`, token);
      expect([what, r.status, reasonOf(r)]).toEqual([what, 403, 'NOT_ADMITTED']);
    }
    expect((await hotState(stack.ns, 'tok')).hot.remaining).toBe(before);

    expect((await place(u1, 'tok', 'tok-buy-0001', t1)).status).toBe(200);
    expect((await place(u1, 'tok', 'tok-buy-0002', t1)).status).toBe(200);
    expect(reasonOf(await place(u1, 'tok', 'tok-buy-0003', t1))).toBe('USER_LIMIT');
    // An expired genuine token is judged after the key step: the existing order replays.
    const expired = new AdmissionTokens(SESSION_SECRET).sign('tok', u1.userId as string, Date.now() - 1);
    const replay = await place(u1, 'tok', 'tok-buy-0001', expired);
    expect(replay.status).toBe(200);
    expect(replay.body.result?.data.replayed).toBe(true);
    expect(reasonOf(await place(u1, 'tok', 'tok-buy-0004', expired))).toBe('NOT_ADMITTED');
    expect((await place(u2, 'tok', 'tok-buy-u2-1', t2)).status).toBe(200);
  });

  it('docs/architecture.md#the-waiting-room: an unqueued sale is unchanged: queue.join answers admitted without a token and orders need none; setAdmission refuses it', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'plain', totalStock: 5, perUserLimit: 1 });
    const [u] = (await shoppers(server.url, 1)) as [TestClient];
    expect(await join(u, 'plain')).toMatchObject({ state: 'admitted', admissionToken: null, position: 0 });
    expect((await place(u, 'plain', 'plain-buy-1')).status).toBe(200);
    const r = await admin.mutate('admin.setAdmission', { saleId: 'plain', admitPerSecond: 5 });
    expect([r.status, reasonOf(r)]).toEqual([409, 'SALE_NOT_QUEUED']);
    expect(reasonOf(await u.mutate('queue.join', { saleId: 'nope' }))).toBe('SALE_NOT_FOUND');
  });
});

describe('judging order (docs/architecture.md#error-reasons)', () => {
  it('docs/architecture.md#error-reasons: a missing or forged token is refused before the rate limits — no rate-limit token is spent — and an admitted shopper then buys', async ({
    stack,
    admin,
  }) => {
    const limited = await stack.server({ RATE_LIMIT_PER_USER: '2', RATE_LIMIT_WINDOW_MS: '60000' });
    await createSale(admin, {
      id: 'judged',
      totalStock: 10,
      perUserLimit: 1,
      queue: { admitPerSecond: 1000 },
    });
    const [u] = (await shoppers(limited.url, 1)) as [TestClient];
    for (let i = 0; i < 6; i++) {
      const r = await place(u, 'judged', `judged-key-${i}`, i % 2 === 0 ? undefined : 'forged.token');
      expect(reasonOf(r)).toBe('NOT_ADMITTED');
    }
    await join(u, 'judged');
    const t = await admitted(u, 'judged');
    expect((await place(u, 'judged', 'judged-buy-1', t.admissionToken as string)).status).toBe(200);
  });
});

describe('answers by reason on the HUD', () => {
  it('issue 9 §2: the HUD frame counts order.place answers per second by kind, NOT_ADMITTED included', async ({
    server,
    admin,
  }) => {
    await createSale(admin, { id: 'counted', totalStock: 10, perUserLimit: 1, queue: { admitPerSecond: 1 } });
    const [u] = (await shoppers(server.url, 1)) as [TestClient];
    for (let i = 0; i < 7; i++)
      expect(reasonOf(await place(u, 'counted', `counted-key-${i}`))).toBe('NOT_ADMITTED');
    const seen = await eventually(async () => {
      const frame = await server.services.domain.hud.read();
      return (frame.answers.NOT_ADMITTED ?? 0) > 0 ? frame.answers : null;
    }, 6000);
    expect(seen.NOT_ADMITTED).toBeGreaterThanOrEqual(1);
  });
});

describe('admission pauses', () => {
  it('docs/architecture.md#the-waiting-room: admission holds while the sale is paused and while admitPerSecond is 0, and resumes after', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, { id: 'hold', totalStock: 1000, perUserLimit: 1, queue: { admitPerSecond: 20 } });
    await admin.mutate('admin.pauseSale', { saleId: 'hold' });
    const crowd = await shoppers(server.url, 30);
    for (const c of crowd) await join(c, 'hold');
    await sleep(1200);
    expect((await roomState(stack.ns, 'hold')).cursor).toBe(0);
    expect(await ticket(crowd[0] as TestClient, 'hold')).toMatchObject({ state: 'waiting', etaMs: null });

    await admin.mutate('admin.resumeSale', { saleId: 'hold' });
    await eventually(async () => (await roomState(stack.ns, 'hold')).cursor >= 5);
    const set = await admin.mutate<{ queue: { admitPerSecond: number } }>('admin.setAdmission', {
      saleId: 'hold',
      admitPerSecond: 0,
    });
    expect(set.body.result?.data.queue.admitPerSecond).toBe(0);
    const held = (await roomState(stack.ns, 'hold')).cursor;
    await sleep(1000);
    expect((await roomState(stack.ns, 'hold')).cursor).toBe(held);
    await admin.mutate('admin.setAdmission', { saleId: 'hold', admitPerSecond: 1000 });
    await eventually(async () => (await roomState(stack.ns, 'hold')).cursor === 30);
    const row = await server.services.stores.prisma.sale.findUniqueOrThrow({ where: { id: 'hold' } });
    expect(row.queueAdmitPerSecond).toBe(1000);
  });

  it('docs/architecture.md#the-waiting-room: outstanding admissions are capped at remaining × outstandingFactor; at sold out every waiting ticket turns soldout at once, admitted ones stay admitted; a restock puts them back in place', async ({
    server,
    admin,
    stack,
  }) => {
    await createSale(admin, {
      id: 'scarce',
      totalStock: 2,
      perUserLimit: 1,
      queue: { admitPerSecond: 1000, outstandingFactor: 1 },
    });
    const crowd = await shoppers(server.url, 10);
    for (const c of crowd) await join(c, 'scarce');
    await eventually(async () => (await roomState(stack.ns, 'scarce')).cursor === 2);
    await sleep(600);
    const room = await roomState(stack.ns, 'scarce');
    expect(room.cursor).toBe(2); // 2 outstanding = 2 remaining × 1: admission holds
    const byUser = new Map(crowd.map((c) => [c.userId as string, c]));
    const [first, second] = room.places.map((p) => byUser.get(p.userId) as TestClient);
    const waiting = room.places.slice(2).map((p) => byUser.get(p.userId) as TestClient);
    const t1 = (await ticket(first as TestClient, 'scarce')).admissionToken as string;
    const t2 = (await ticket(second as TestClient, 'scarce')).admissionToken as string;
    expect((await place(first as TestClient, 'scarce', 'scarce-buy-1', t1)).status).toBe(200);
    expect((await place(second as TestClient, 'scarce', 'scarce-buy-2', t2)).status).toBe(200);

    const soldOut: Ticket[] = await Promise.all(waiting.map((c) => ticket(c, 'scarce')));
    expect(soldOut.map((t) => t.state)).toEqual(waiting.map(() => 'soldout'));
    expect((await ticket(first as TestClient, 'scarce')).state).toBe('admitted');
    const positions = soldOut.map((t) => t.position);

    await admin.mutate('admin.restock', { saleId: 'scarce', quantity: 1 });
    const back = await Promise.all(waiting.map((c) => ticket(c, 'scarce')));
    expect(back.slice(1).map((t) => t.state)).toEqual(waiting.slice(1).map(() => 'waiting'));
    await eventually(async () => (await roomState(stack.ns, 'scarce')).cursor === 3);
    expect((await ticket(waiting[0] as TestClient, 'scarce')).state).toBe('admitted');
    expect((await ticket(waiting[1] as TestClient, 'scarce')).position).toBe((positions[1] as number) - 1);
  });
});

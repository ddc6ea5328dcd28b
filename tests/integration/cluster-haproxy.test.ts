import { createPrisma } from '@surge/db';
import { afterAll, describe, expect, it } from 'vitest';
import { reasonOf, type TestClient } from '../support/client.ts';
import { hotState } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { type PrivateServer, privateHaproxy } from '../support/private-servers.ts';
import { eventually, sleep } from '../support/services.ts';
import { createSale, createStack, shoppers } from '../support/stack.ts';

/**
 * Two servers behind HAProxy (scripts/haproxy.mjs, the configuration of `npm run
 * cluster`). One is killed with kill -9 under load while its publishes are held back, so it
 * dies with open reservations: HAProxy's /readyz checks take it out, shoppers keep buying
 * through the other, whose sweeper settles the dead server's reservations once their lease
 * expires. I1–I5 after the drain.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
const RETRIED = new Set(['OUTCOME_UNKNOWN', 'IDEMPOTENCY_IN_FLIGHT', undefined]);

describe('two servers behind HAProxy', () => {
  it('kill -9 one server: HAProxy routes around it, shoppers keep buying, the other settles its reservations', async () => {
    const stack = await createStack();
    cleanups.push(() => stack.teardown());
    const common = { TRUST_PROXY: 'true', LEASE_MS: '3000', SWEEP_INTERVAL_MS: '200' };
    // The doomed server holds every publish back, so it dies holding open reservations.
    const [doomed, survivor] = await Promise.all([
      stack.spawnServer({ ...common, SURGE_FAULT_PUBLISH_DELAY_MS: '1500' }),
      stack.spawnServer(common),
    ]);
    await stack.worker();
    const lb: PrivateServer = await privateHaproxy([doomed.port, survivor.port]);
    cleanups.push(() => lb.destroy());
    await eventually(async () => (await fetch(`${lb.url}/readyz`)).status === 200 || null, 15_000, 100);
    const admin = await stack.admin(lb.url);
    await createSale(admin, { id: 'lb', totalStock: 5000, perUserLimit: 100 });

    const clients = await shoppers(lb.url, 16);
    const accepted = new Set<string>();
    const answers: { at: number; ok: boolean; reason?: string }[] = [];
    let unresolved = 0;
    let stop = false;
    const shopper = async (c: TestClient, i: number) => {
      for (let n = 0; !stop && n < 300; n++) {
        const key = `lb-key-${i}-${n}`;
        for (let tries = 0; ; tries++) {
          const a = await c
            .mutate<{ orderId: string }>('order.place', { saleId: 'lb', quantity: 1, idempotencyKey: key })
            .catch(() => null); // the connection died with the server: no answer
          const reason = a ? (reasonOf(a) ?? (a.status === 200 ? undefined : `HTTP ${a.status}`)) : undefined;
          answers.push({ at: Date.now(), ok: a?.status === 200, reason: a ? reason : 'no answer' });
          if (a?.status === 200 && a.body.result) {
            accepted.add(a.body.result.data.orderId);
            break;
          }
          if (a && !RETRIED.has(reason) && !reason?.startsWith('HTTP 5')) break;
          if (tries > 100) {
            unresolved++;
            break;
          }
          await sleep(100);
        }
        await sleep(50);
      }
    };
    const load = Promise.all(clients.map(shopper));

    await sleep(2500);
    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    const orphans = (await hotState(stack.ns, 'lb')).outbox;
    // The dead server's reservations: published by the survivor's sweeper after their lease.
    await eventually(async () => (await hotState(stack.ns, 'lb')).outbox === 0 || null, 30_000, 200);
    const settledAt = Date.now();
    await sleep(1000);
    stop = true;
    await load;
    const firstFail = answers.find((a) => !a.ok && a.at >= killedAt - 50);
    const back = answers.find((a) => a.ok && a.at > (firstFail?.at ?? killedAt)) ?? { at: Number.NaN };

    const firstOkAfter = answers.find((a) => a.ok && a.at > killedAt)?.at ?? Number.NaN;
    const reasons: Record<string, number> = {};
    for (const a of answers)
      if (!a.ok && a.at >= killedAt - 50) reasons[a.reason ?? '?'] = (reasons[a.reason ?? '?'] ?? 0) + 1;
    console.log(
      `[cluster-haproxy] server killed with ${orphans} reservation(s) in its outbox: ${
        firstFail
          ? `unavailable ${back.at - firstFail.at} ms (first failing answer → first success)`
          : 'no failing answer'
      }, first order accepted ${firstOkAfter - killedAt} ms after the kill (calls caught on the dead server wait for its lease, ${common.LEASE_MS} ms); answers after the kill that failed ${JSON.stringify(reasons)}; its reservations settled ${settledAt - killedAt} ms after the kill; ${
        answers.filter((a) => a.ok && a.at > killedAt).length
      } orders accepted after the kill`,
    );
    expect(orphans).toBeGreaterThan(0);
    expect(answers.filter((a) => a.ok && a.at > killedAt + 1000).length).toBeGreaterThan(20);
    // Only indeterminate answers (the dead server's calls in flight), each retried with its key.
    const indeterminate = [
      'no answer',
      'HTTP 502',
      'HTTP 503',
      'HTTP 504',
      'OUTCOME_UNKNOWN',
      'IDEMPOTENCY_IN_FLIGHT',
    ];
    expect(Object.keys(reasons).filter((r) => !indeterminate.includes(r))).toEqual([]);

    await waitForDrain(stack.ns, 'lb', 60_000);
    const prisma = createPrisma(stack.db.url);
    cleanups.push(() => prisma.$disconnect());
    await checkInvariants({
      prisma,
      ns: stack.ns,
      saleId: 'lb',
      total: 5000,
      perUserLimit: 100,
      accepted,
      unknownAnswers: unresolved,
    });
  });
});

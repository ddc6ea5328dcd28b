import { natsNames } from '@surge/contracts';
import { createPrisma } from '@surge/db';
import { afterAll, describe, expect, it } from 'vitest';
import { reasonOf, type TestClient } from '../support/client.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { privateRedisCluster } from '../support/private-redis-cluster.ts';
import { privateHaproxy, privateNatsCluster } from '../support/private-servers.ts';
import { eventually, sleep } from '../support/services.ts';
import { createSale, createStack, shoppers } from '../support/stack.ts';

/**
 * The whole topology of `npm run cluster` on private processes: a 3-node NATS cluster
 * with the orders stream R3, a Redis Cluster 3 + 3, two servers behind HAProxy, two workers —
 * one of which kills itself right after its first commit (mid-batch: stored, not acknowledged).
 * Under load, the NATS node leading the stream is killed: answers meanwhile are definite or
 * indeterminate, never a false success; nothing acknowledged is lost; the dead worker's batch
 * is persisted exactly once by the other. The checker judges I1–I5 after the drain.
 */
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
const RETRIED = new Set(['OUTCOME_UNKNOWN', 'IDEMPOTENCY_IN_FLIGHT', 'STORE_UNAVAILABLE', 'no answer']);
const DEFINITE_OR_NOT = new Set([...RETRIED, 'QUEUE_UNAVAILABLE', 'HTTP 502', 'HTTP 503']);

describe('the local cluster topology', () => {
  it('stream leader killed under load through HAProxy, a worker dying mid-batch: exactly once, I1–I5', async () => {
    const [nats, redis] = await Promise.all([
      privateNatsCluster(),
      privateRedisCluster({ nodeTimeoutMs: 1000 }),
    ]);
    cleanups.push(
      () => nats.destroy(),
      () => redis.destroy(),
    );
    const stack = await createStack({ redis: redis.url, nats: nats.url });
    cleanups.push(() => stack.teardown());
    const env = {
      REDIS_CLUSTER: 'true',
      STREAM_REPLICAS: '3',
      TRUST_PROXY: 'true',
      SWEEP_INTERVAL_MS: '200',
      BREAKER_HALF_OPEN_MS: '2000',
    };
    const s1 = await stack.spawnServer(env);
    const s2 = await stack.spawnServer(env);
    const survivor = await stack.spawnWorker({ ...env, WORKER_ACK_WAIT_MS: '3000' });
    const crasher = await stack.spawnWorker({ ...env, SURGE_FAULT_WORKER_CRASH: 'after-commit' });
    const lb = await privateHaproxy([s1.port, s2.port]);
    cleanups.push(() => lb.destroy());
    await eventually(async () => (await fetch(`${lb.url}/readyz`)).status === 200 || null, 20_000, 100);
    const admin = await stack.admin(lb.url);
    await createSale(admin, { id: 'topo', totalStock: 4000, perUserLimit: 100 });

    const clients = await shoppers(lb.url, 12);
    const accepted = new Set<string>();
    const answers: { at: number; ok: boolean; reason?: string }[] = [];
    let unresolved = 0;
    let stop = false;
    const shopper = async (c: TestClient, i: number) => {
      for (let n = 0; !stop && n < 300; n++) {
        const key = `topo-key-${i}-${n}`;
        for (let tries = 0; ; tries++) {
          const a = await c
            .mutate<{ orderId: string }>('order.place', { saleId: 'topo', quantity: 1, idempotencyKey: key })
            .catch(() => null);
          const reason = a
            ? (reasonOf(a) ?? (a.status === 200 ? undefined : `HTTP ${a.status}`))
            : 'no answer';
          answers.push({ at: Date.now(), ok: a?.status === 200, reason });
          if (a?.status === 200 && a.body.result) {
            accepted.add(a.body.result.data.orderId);
            break;
          }
          if (!reason || !(RETRIED.has(reason) || reason.startsWith('HTTP 5'))) break;
          if (stop || tries > 100) {
            unresolved++;
            break;
          }
          await sleep(150);
        }
        await sleep(100);
      }
    };
    const load = Promise.all(clients.map(shopper));

    await eventually(async () => crasher.child.signalCode === 'SIGKILL' || null, 30_000, 100);
    const stream = natsNames(stack.ns).stream;
    const leader = await nats.leaderOf(stream);
    if (!leader) throw new Error('no stream leader');
    await leader.stop(); // kill -9 by PID
    const killedAt = Date.now();
    const elected = await eventually(async () => {
      const l = await nats.leaderOf(stream).catch(() => undefined);
      return l && l !== leader ? l : null;
    }, 30_000);
    const electedAt = Date.now();
    const firstFail = await eventually(
      async () => answers.find((a) => !a.ok && a.at >= killedAt) ?? null,
      10_000,
      50,
    ).catch(() => null);
    const back = await eventually(
      async () => answers.find((a) => a.ok && a.at > (firstFail?.at ?? electedAt)),
      30_000,
      50,
    );
    const restartedAt = Date.now();
    await leader.start();
    await nats.caughtUp(stream, leader, 60_000); // rejoins and catches up
    const caughtUp = Date.now() - restartedAt;
    await sleep(1500);
    stop = true;
    await load;

    const reasons: Record<string, number> = {};
    for (const a of answers.filter((x) => !x.ok && x.at >= killedAt))
      reasons[a.reason ?? '?'] = (reasons[a.reason ?? '?'] ?? 0) + 1;
    console.log(
      `[cluster-topology] worker killed after its first commit; stream leader ${leader.name} killed: new leader ${elected.name} after ${electedAt - killedAt} ms; ${
        firstFail
          ? `unavailable ${back.at - firstFail.at} ms (first failing answer → first success)`
          : 'no failing answer'
      }; answers after the kill that failed ${JSON.stringify(reasons)}; ${leader.name} restarted, caught up after ${caughtUp} ms`,
    );
    expect(Object.keys(reasons).filter((r) => !DEFINITE_OR_NOT.has(r))).toEqual([]);
    expect(survivor.running()).toBe(true);

    await waitForDrain(stack.ns, 'topo', 90_000, redis.url, nats.url);
    const prisma = createPrisma(stack.db.url);
    cleanups.push(() => prisma.$disconnect());
    await checkInvariants({
      prisma,
      ns: stack.ns,
      saleId: 'topo',
      total: 4000,
      perUserLimit: 100,
      accepted,
      unknownAnswers: unresolved,
      redisUrl: redis.url,
    });
  });
});

import { natsNames } from '@surge/contracts';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitForQuiet } from '../support/checker/index.ts';
import { reasonOf, type TestClient } from '../support/client.ts';
import { checkInvariants } from '../support/invariants.ts';
import { privateNatsCluster } from '../support/private-servers.ts';
import { eventually, SHARED, sleep } from '../support/services.ts';
import { createSale, createStack, type Stack, shoppers } from '../support/stack.ts';

/**
 * A private 3-node NATS cluster (nats-server clustering, JetStream R3): processes starting
 * together on a fresh cluster, and the node leading the orders stream killed under load, then
 * restarted: it rejoins the stream's replica set and catches up.
 */
type Cluster = Awaited<ReturnType<typeof privateNatsCluster>>;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function clusterStack(): Promise<{ cluster: Cluster; stack: Stack }> {
  const cluster = await privateNatsCluster();
  cleanups.push(() => cluster.destroy());
  const stack = await createStack({ nats: cluster.url });
  cleanups.push(() => stack.teardown());
  return { cluster, stack };
}

describe('a fresh R3 cluster', () => {
  it('server and worker started at the same moment both come up (create-or-verify, no crash loop)', async () => {
    for (let round = 1; round <= 2; round++) {
      const { cluster, stack } = await clusterStack();
      const started = Date.now();
      const [server, worker] = await Promise.all([
        stack.spawnServer({ STREAM_REPLICAS: '3' }),
        stack.spawnWorker({ STREAM_REPLICAS: '3' }),
      ]);
      console.log(
        `[recovery] fresh R3 cluster, round ${round}: server and worker ready after ${Date.now() - started} ms`,
      );
      expect(server.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
      const leader = await cluster.leaderOf(natsNames(stack.ns).stream);
      expect(leader).toBeDefined();
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  });
});

describe('the node leading the R3 orders stream is killed under load', () => {
  it('intake resumes within seconds of the new leader; the killed node rejoins and catches up; nothing acknowledged is lost; I1–I5 after the drain', async () => {
    const { cluster, stack } = await clusterStack();
    const server = await stack.server({
      STREAM_REPLICAS: '3',
      BREAKER_HALF_OPEN_MS: '2000',
      SWEEP_INTERVAL_MS: '200',
    });
    await stack.worker({ STREAM_REPLICAS: '3' });
    const admin = await stack.admin(server.url);
    await createSale(admin, { id: 'r3', totalStock: 20_000, perUserLimit: 100 });
    const stream = natsNames(stack.ns).stream;

    // Shoppers place orders without pause; an indeterminate answer is retried with the same
    // key, as the shop page does, until it is definite (or the load stops).
    const clients = await shoppers(server.url, 30);
    const accepted = new Set<string>();
    const answers: { at: number; ok: boolean; reason?: string }[] = [];
    let unresolved = 0;
    let stop = false;
    const shopper = async (c: TestClient, i: number) => {
      for (let n = 0; !stop && n < 90; n++) {
        const key = `load-${i}-${n}-of-r3`;
        for (let tries = 0; ; tries++) {
          const a = await c.mutate<{ orderId: string }>('order.place', {
            saleId: 'r3',
            quantity: 1,
            idempotencyKey: key,
          });
          const reason = reasonOf(a);
          answers.push({ at: Date.now(), ok: a.status === 200, reason });
          if (a.status === 200 && a.body.result) {
            accepted.add(a.body.result.data.orderId);
            break;
          }
          if (reason !== 'OUTCOME_UNKNOWN' && reason !== 'IDEMPOTENCY_IN_FLIGHT') break;
          if (stop || tries > 50) {
            unresolved++;
            break;
          }
          await sleep(200);
        }
        await sleep(250);
      }
    };
    const load = Promise.all(clients.map(shopper));

    await sleep(2000);
    const leader = await cluster.leaderOf(stream);
    if (!leader) throw new Error('no stream leader');
    await leader.stop(); // kill -9 by PID
    const killedAt = Date.now();
    const survivor = cluster.nodes.find((n) => n !== leader);
    if (!survivor) throw new Error('no survivor');
    const newLeader = await eventually(async () => {
      const l = await cluster.leaderOf(stream).catch(() => undefined);
      return l && l !== leader ? l : null;
    }, 30_000);
    const electedAt = Date.now();
    const firstOk = await eventually(async () => answers.find((a) => a.ok && a.at > electedAt), 30_000, 50);
    const firstFail = answers.find((a) => !a.ok && a.at >= killedAt);
    const back = answers.find((a) => a.ok && a.at > (firstFail?.at ?? killedAt));
    console.log(
      `[recovery] R3 stream leader ${leader.name} killed: new leader ${newLeader.name} after ${electedAt - killedAt} ms; ${
        firstFail && back
          ? `unavailable ${back.at - firstFail.at} ms (first failing answer → first success)`
          : 'no failing answer'
      }; first order accepted ${firstOk.at - electedAt} ms after the election (${firstOk.at - killedAt} ms after the kill)`,
    );
    expect(firstOk.at - electedAt).toBeLessThan(15_000);

    // The killed node restarts on its own store while the shoppers keep buying: it rejoins the
    // stream's replica set and catches up (current, lag 0 as the leader reports it).
    const restartedAt = Date.now();
    await leader.start();
    await cluster.caughtUp(stream, leader, 60_000);
    const caughtUpAt = Date.now();
    const info = await cluster.leaderOf(stream);
    console.log(
      `[recovery] ${leader.name} restarted: rejoined and caught up ${caughtUpAt - restartedAt} ms after its restart (stream leader now ${info?.name})`,
    );
    await sleep(1000);
    stop = true;
    await load;

    const afterKill = answers.filter((a) => a.at > killedAt);
    const reasons: Record<string, number> = {};
    for (const a of afterKill) reasons[a.reason ?? 'OK'] = (reasons[a.reason ?? 'OK'] ?? 0) + 1;
    console.log(`[recovery] answers after the kill: ${JSON.stringify(reasons)}`);
    // Every refusal is one of the definite or indeterminate answers of an unavailable queue.
    expect(
      Object.keys(reasons).filter(
        (r) => !['OK', 'QUEUE_UNAVAILABLE', 'OUTCOME_UNKNOWN', 'IDEMPOTENCY_IN_FLIGHT'].includes(r),
      ),
    ).toEqual([]);

    await waitForQuiet({
      ns: stack.ns,
      saleId: 'r3',
      redisUrl: SHARED.redis,
      natsUrl: survivor.url,
      timeoutMs: 60_000,
    });
    await checkInvariants({
      prisma: server.services.stores.prisma,
      ns: stack.ns,
      saleId: 'r3',
      total: 20_000,
      perUserLimit: 100,
      accepted,
      unknownAnswers: unresolved,
    });
  });
});

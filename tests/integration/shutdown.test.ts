import { describe, expect } from 'vitest';
import { type Answer, reasonOf, type TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually } from '../support/services.ts';
import { createSale, shoppers } from '../support/stack.ts';

type Placed = { orderId: string };

const it = stackTest();

/**
 * Graceful shutdown (docs/architecture.md#a-clean-stop): SIGTERM under load loses nothing
 * acknowledged and answers what it took.
 */
describe('SIGTERM under load', () => {
  it('I3 I7: server and worker SIGTERM mid-load → every definitely accepted order persisted, every request that reached a server answered', async ({
    stack,
    server: control,
  }) => {
    const admin = await stack.admin(control.url);
    await createSale(admin, { id: 'sigterm', totalStock: 5000, perUserLimit: 50 });
    const server = await stack.spawnServer();
    // A short ack wait: what the stopped worker's client still buffered is redelivered soon.
    const worker = await stack.spawnWorker({
      PAYMENT_LATENCY_MS: '50',
      WORKER_BATCH_SIZE: '20',
      WORKER_ACK_WAIT_MS: '2000',
    });
    const users = await shoppers(server.url, 60);

    const answers: (Answer<Placed> | 'connection-failed')[] = [];
    let stop = false;
    let seq = 0;
    const hammer = async (u: TestClient) => {
      while (!stop) {
        const a = await u
          .mutate<Placed>('order.place', {
            saleId: 'sigterm',
            quantity: 1,
            idempotencyKey: `sigterm-${seq++}-key`,
          })
          .catch(() => 'connection-failed' as const);
        answers.push(a);
        if (a === 'connection-failed') return; // the server is gone
      }
    };
    const load = Promise.all(users.map(hammer));
    await eventually(async () => answers.length > 300);
    server.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    await eventually(async () => server.child.exitCode !== null && worker.child.exitCode !== null, 30_000);
    stop = true;
    await load;
    expect(server.child.exitCode).toBe(0);
    expect(worker.child.exitCode).toBe(0);

    const answered = answers.filter((a): a is Answer<Placed> => a !== 'connection-failed');
    const accepted = new Set(
      answered.filter((a) => a.status === 200).map((a) => a.body.result?.data.orderId ?? ''),
    );
    expect(accepted.size).toBeGreaterThan(0);
    // Every answer is a success or a named refusal; nothing half-answered.
    expect(answered.filter((a) => a.status !== 200 && !reasonOf(a))).toEqual([]);

    // A fresh worker drains what the stopped one left; rows exist only for accepted calls —
    // a request that reached the server and lost its answer would leave an unexplained row.
    const fresh = await stack.worker({ WORKER_ACK_WAIT_MS: '2000' });
    await waitForDrain(stack.ns, 'sigterm');
    await checkInvariants({
      prisma: control.services.stores.prisma,
      ns: stack.ns,
      saleId: 'sigterm',
      total: 5000,
      perUserLimit: 50,
      accepted,
      unknownAnswers: answered.filter((a) => reasonOf(a) === 'OUTCOME_UNKNOWN').length,
    });
    await fresh.close();
  });
});

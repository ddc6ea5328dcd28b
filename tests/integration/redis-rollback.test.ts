import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, withRedis } from '../support/inspect.ts';
import { checkInvariants, waitForDrain } from '../support/invariants.ts';
import { eventually, sleep } from '../support/services.ts';
import { createSale } from '../support/stack.ts';

type Placed = { orderId: string };

const ACL = [
  '--user',
  'surge',
  'on',
  '>rollback-test',
  '~*',
  '&*',
  '+@all',
  '-@admin',
  '-flushall',
  '-flushdb',
];

/**
 * The Redis user the server runs as: the run fence reads LASTSAVE, an @admin command, which
 * docker-compose.yml and the Helm values grant the apps' user; without it the fence reads INFO
 * at every reservation. Either way a restored snapshot must sell nothing.
 */
const USERS = [
  { who: 'the default user', args: [] as string[], user: null, lastSave: true },
  {
    who: "the deployments' ACL user (no @admin but LASTSAVE)",
    args: [...ACL, '+lastsave'],
    user: 'surge',
    lastSave: true,
  },
  { who: 'an ACL user without LASTSAVE', args: ACL, user: 'surge', lastSave: false },
];

/**
 * docs/architecture.md#when-a-rebuild-starts: Redis restarts from a snapshot taken before the
 * last units were sold (an RDB file minutes old, an append-only file that lost its last second
 * to a power cut). The restored hot state offers those units again; until a server's next
 * run_id check flags the sale, a reservation against it would sell them twice (I1).
 */
for (const u of USERS) {
  // The sweeper (and the run_id check it makes each tick) never ticks within the test: what
  // stands between the restored Redis and an oversell is the reservation step's own run fence.
  const it = stackTest({ private: { redis: { args: u.args } }, server: false, worker: {} });

  describe(`a Redis restarted from an older snapshot, the server as ${u.who}`, () => {
    it('I1: sells nothing on the restored numbers; the sale is rebuilt from PostgreSQL first', async ({
      stack,
      redis,
    }) => {
      const redisUrl = u.user ? redis.url.replace('redis://', `redis://${u.user}:rollback-test@`) : redis.url;
      const server = await stack.server({ SWEEP_INTERVAL_MS: '600000', REDIS_URL: redisUrl });
      const prisma = server.services.stores.prisma;
      const admin = await stack.admin(server.url);
      await createSale(admin, { id: 'rollback', totalStock: 3, perUserLimit: 3 });
      // The snapshot: all three units still for sale. Then a second later (the fence records a
      // LASTSAVE only once its second has passed), the sale sells out.
      await withRedis((r) => r.save(), redis.url);
      await sleep(1100);

      const shopper = new TestClient(server.url);
      await shopper.startSession();
      const orderId = await shopper.placeAccepted({
        saleId: 'rollback',
        quantity: 3,
        idempotencyKey: 'after-the-snapshot',
      });
      // A save of the same run stops nothing; the fence looked the run up once (LASTSAVE had
      // moved) and recorded the new LASTSAVE, so the next reservation skips INFO — where the
      // user may read LASTSAVE at all.
      const lastSave = await withRedis((r) => r.lastsave(), redis.url);
      expect((await hotState(stack.ns, 'rollback', redis.url)).hot.lastSave).toBe(
        u.lastSave ? String(lastSave) : undefined,
      );
      await waitForDrain(stack.ns, 'rollback', 60_000, redis.url);
      expect((await prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status).toBe('CONFIRMED');

      // kill -9 (nothing saved on the way out), then the restart loads the snapshot.
      await redis.stop();
      await redis.start();
      expect((await hotState(stack.ns, 'rollback', redis.url)).hot.remaining).toBe('3');

      // Another shopper tries to buy the restored units as soon as the server is back on Redis.
      const other = new TestClient(server.url);
      await other.startSession();
      const answers: { status: number; reason?: string }[] = [];
      for (let i = 0; i < 100; i++) {
        const a = await other.mutate<Placed>('order.place', {
          saleId: 'rollback',
          quantity: 1,
          idempotencyKey: `restored-${i}`,
        });
        answers.push({ status: a.status, reason: reasonOf(a) });
        if (a.status === 200 || reasonOf(a) === 'SOLD_OUT') break;
        await sleep(100);
      }
      // Refused while Redis came back (STORE_UNAVAILABLE) and while rebuilding (SALE_REBUILDING),
      // then sold out: never accepted.
      expect(answers.filter((a) => a.status === 200)).toEqual([]);
      expect(answers.map((a) => a.reason)).toContain('SALE_REBUILDING');
      expect(answers.at(-1)?.reason).toBe('SOLD_OUT');

      const rebuilt = await hotState(stack.ns, 'rollback', redis.url);
      expect(rebuilt.hot.remaining).toBe('0');
      expect(rebuilt.hot.epoch).toBe('2');
      await eventually(async () => (await hotState(stack.ns, 'rollback', redis.url)).open === 0);
      await checkInvariants({
        prisma,
        ns: stack.ns,
        saleId: 'rollback',
        total: 3,
        perUserLimit: 3,
        accepted: new Set([orderId]),
        redisUrl: redis.url,
      });
    });
  });
}

import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import { applyMigrations, dropDatabase } from '@surge/db/migrate';
import type { Cluster } from 'ioredis';
import { freePort } from '../../scripts/spawn-app.mjs';
import { ROOT } from './paths.ts';
import { testRedis } from './redis-client.ts';

export { freePort };

/**
 * The machine's shared services. Every test file isolates itself: its own database, its own
 * SURGE_NAMESPACE (Redis key prefix, NATS stream/subjects), both removed afterwards.
 */
export const SHARED = {
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222',
  postgres: process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
};

export function uid(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(base = SHARED.postgres): Promise<TestDatabase> {
  const name = `surge_t_${uid()}`;
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  await applyMigrations({
    databaseUrl: url,
    migrationsDir: `${ROOT}/prisma/migrations`,
    schemaPath: `${ROOT}/prisma/schema.prisma`,
  });
  return { url, name, drop: () => dropDatabase(url) };
}

/** Deletes every Redis key and the NATS stream of a namespace. */
export async function cleanupNamespace(
  ns: string,
  redisUrl = SHARED.redis,
  natsUrl = SHARED.nats,
): Promise<void> {
  const redis = testRedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const nodes = redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 1000);
        cursor = next;
        // One DEL per key: on a cluster, the keys of one node are in many slots.
        await Promise.all(keys.map((key) => node.del(key)));
      } while (cursor !== '0');
    }
  } catch {
    // a test that stopped its own Redis has nothing to clean
  } finally {
    redis.disconnect();
  }
  try {
    const nc = await connect({ servers: natsUrl, maxReconnectAttempts: 0, timeout: 2000 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(natsNames(ns).stream).catch(() => undefined);
    await nc.close();
  } catch {
    // likewise for NATS
  }
}

export function newNamespace(): string {
  return `t_${uid()}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await sleep(stepMs);
  }
}

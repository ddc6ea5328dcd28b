import { createPrisma, type PrismaClient } from '@surge/db';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { connectNats, ensureOrdersStream, type NatsHandle } from './nats.ts';
import { createRedis, redisHealth } from './redis.ts';

/**
 * The three stores of a process — Redis, NATS JetStream, PostgreSQL — connected the same way by
 * the server and the worker, with one health check each for their `/readyz`.
 */
export interface Stores {
  redis: Redis;
  prisma: PrismaClient;
  nats: NatsHandle;
  health: StoreHealth;
  /** Drains NATS, then drops Redis and PostgreSQL; never throws. */
  close(): Promise<void>;
}

export interface StoreHealth {
  /**
   * Redis answers and never evicts (an evicted key could resell stock:
   * docs/architecture.md#expiry-and-eviction).
   */
  redis(): Promise<'ok' | 'down' | 'maxmemory-policy is not noeviction'>;
  /** The connection's live state, without a round trip. */
  nats(): 'ok' | 'down';
  postgres(): Promise<'ok' | 'down'>;
}

/** The variables a process connects with (`commonEnvSchema` in @surge/contracts/config). */
export interface StoresEnv {
  REDIS_URL: string;
  REDIS_CLUSTER: boolean;
  NATS_URL: string;
  DATABASE_URL: string;
  SURGE_NAMESPACE: string;
  STREAM_MAX_BYTES: number;
  STREAM_REPLICAS: number;
}

/**
 * Connects Redis, PostgreSQL and NATS, then declares the namespace's orders stream
 * (create-or-verify: ensureOrdersStream). `name` is the connection name Redis and NATS show.
 */
export async function connectStores(env: StoresEnv, o: { name: string; log: Logger }): Promise<Stores> {
  const redis = createRedis(env.REDIS_URL, o.name, env.REDIS_CLUSTER);
  await redis.connect();
  const prisma = createPrisma(env.DATABASE_URL);
  const nats = await connectNats(env.NATS_URL, o.name, o.log);
  await ensureOrdersStream(nats.jsm, {
    namespace: env.SURGE_NAMESPACE,
    maxBytes: env.STREAM_MAX_BYTES,
    replicas: env.STREAM_REPLICAS,
    log: o.log,
  });
  return {
    redis,
    prisma,
    nats,
    health: {
      redis: () => redisHealth(redis),
      nats: () => (nats.isConnected() ? 'ok' : 'down'),
      postgres: () =>
        prisma.$queryRaw`SELECT 1`.then(
          () => 'ok',
          () => 'down',
        ),
    },
    async close() {
      await nats.close().catch(() => undefined);
      redis.disconnect();
      await prisma.$disconnect().catch(() => undefined);
    },
  };
}

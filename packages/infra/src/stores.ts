import { createPrisma, type PrismaClient } from '@surge/db';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { connectNats, ensureOrdersStream, type NatsHandle } from './nats.ts';
import { checkNoEviction, createRedis } from './redis.ts';

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
  /** Redis answers and never evicts (SPEC §4 step 8: an evicted key could resell stock). */
  redis(): Promise<'ok' | 'down' | 'maxmemory-policy is not noeviction'>;
  /** The connection's live state, without a round trip. */
  nats(): 'ok' | 'down';
  postgres(): Promise<'ok' | 'down'>;
}

export interface StoreOptions {
  redisUrl: string;
  natsUrl: string;
  databaseUrl: string;
  /** The connection name Redis and NATS show for this process. */
  name: string;
  log: Logger;
  /** The orders stream, declared (create-or-verify) once NATS is connected. */
  ordersStream: { namespace: string; maxBytes: number; replicas: number };
}

export async function connectStores(o: StoreOptions): Promise<Stores> {
  const redis = createRedis(o.redisUrl, o.name);
  await redis.connect();
  const prisma = createPrisma(o.databaseUrl);
  const nats = await connectNats(o.natsUrl, o.name, o.log);
  await ensureOrdersStream(nats.jsm, { ...o.ordersStream, log: o.log });
  return {
    redis,
    prisma,
    nats,
    health: {
      redis: () =>
        redis.ping().then(
          async () =>
            (await checkNoEviction(redis).catch(() => false)) ? 'ok' : 'maxmemory-policy is not noeviction',
          () => 'down',
        ),
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

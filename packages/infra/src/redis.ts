import { Redis } from 'ioredis';

/**
 * Redis client of the order path. No offline queue: while Redis is unreachable a call fails at
 * once and the caller answers STORE_UNAVAILABLE instead of queueing requests without bound.
 * Commands in flight when a connection drops are re-sent after the reconnect
 * (ioredis default), which is why every script is safe to run twice.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** SPEC §4 step 8: a Redis that may evict keys could silently resell stock. */
export async function checkNoEviction(redis: Redis): Promise<boolean> {
  const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
  return reply[1] === 'noeviction';
}

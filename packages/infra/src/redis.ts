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
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
}

const NEVER_SENT = /enableOfflineQueue|Stream isn't writeable/i;
// Unreachable, restarting (LOADING), failing over (READONLY), stuck in a script (BUSY), or a
// reply lost with its connection: infrastructure, never the fault of the caller's input.
const UNAVAILABLE =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|max retries per request|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|^LOADING|^READONLY|^BUSY|^MASTERDOWN|^CLUSTERDOWN|^TRYAGAIN/i;

const messageOf = (err: unknown) => String((err as Error)?.message ?? '');

/** Redis cannot serve the command now (one classification for the server and the worker). */
export function isRedisUnavailable(err: unknown): boolean {
  return UNAVAILABLE.test(messageOf(err));
}

/**
 * ioredis refused the command before sending it (no connection, no offline queue): it cannot
 * have run. Any other failure may hide a command that ran and lost its reply.
 */
export function redisCommandNeverSent(err: unknown): boolean {
  return NEVER_SENT.test(messageOf(err));
}

/**
 * A Redis that may evict keys could silently resell stock
 * (docs/architecture.md#expiry-and-eviction).
 */
export async function checkNoEviction(redis: Redis): Promise<boolean> {
  const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
  return reply[1] === 'noeviction';
}

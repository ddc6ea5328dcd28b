import { Cluster, Redis } from 'ioredis';

/**
 * Redis client of the order path. No offline queue: while Redis is unreachable a call fails at
 * once and the caller answers STORE_UNAVAILABLE instead of queueing requests without bound.
 * Commands in flight when a connection drops are re-sent after the reconnect
 * (ioredis default), which is why every script is safe to run twice.
 *
 * With `cluster` (REDIS_CLUSTER) `url` lists seed nodes separated by commas and the
 * client is an ioredis `Cluster`, typed as `Redis`: every command the code sends touches one
 * key or keys under one sale's hash tag, which both clients serve alike (`isCluster` tells
 * them apart where a command concerns a node rather than a key).
 */
export function createRedis(url: string, name: string, cluster = false): Redis {
  const options = {
    connectionName: name,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  };
  if (!cluster) return new Redis(url, { ...options, retryStrategy: (times) => Math.min(times * 100, 2000) });
  const seeds = url.split(',').map((u) => {
    const p = new URL(u.trim());
    return { host: p.hostname, port: Number(p.port || 6379) };
  });
  const first = new URL(url.split(',')[0]?.trim() ?? url);
  return new Cluster(seeds, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // A failover: CLUSTERDOWN and refused connections are answered at once (STORE_UNAVAILABLE,
    // the caller's retry), while the slot map is refreshed in the background.
    maxRedirections: 4,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: (times) => Math.min(times * 100, 2000),
    redisOptions: {
      connectionName: name,
      maxRetriesPerRequest: 1,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    },
  }) as unknown as Redis;
}

/** The primaries of a Redis Cluster, or the one client itself. */
export function redisPrimaries(redis: Redis): Redis[] {
  return redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
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
 * (docs/architecture.md#expiry-and-eviction). On Redis Cluster
 * every primary that answers must say `noeviction`; one that does not answer (failing over)
 * concerns its own shard's sales, which answer SALE_REBUILDING or STORE_UNAVAILABLE by
 * themselves, so it does not make the whole process unready — only no primary answering does.
 */
export async function checkNoEviction(redis: Redis): Promise<boolean> {
  const policy = async (node: Redis) =>
    ((await node.call('CONFIG', 'GET', 'maxmemory-policy')) as string[])[1];
  if (!redis.isCluster) return (await policy(redis)) === 'noeviction';
  const answers = await Promise.allSettled(redisPrimaries(redis).map(policy));
  const known = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  if (known.length === 0) throw new Error('no Redis Cluster primary answers');
  return known.every((p) => p === 'noeviction');
}

/**
 * The Redis line of `/readyz`. A single Redis: it answers and never evicts. A Redis Cluster: the
 * primaries that answer never evict, and at least one answers (a primary failing over is its
 * shard's business, see checkNoEviction).
 */
export async function redisHealth(
  redis: Redis,
): Promise<'ok' | 'down' | 'maxmemory-policy is not noeviction'> {
  if (redis.isCluster) {
    const ok = await checkNoEviction(redis).catch(() => null);
    return ok === null ? 'down' : ok ? 'ok' : 'maxmemory-policy is not noeviction';
  }
  return redis.ping().then(
    async () =>
      (await checkNoEviction(redis).catch(() => false)) ? 'ok' : 'maxmemory-policy is not noeviction',
    () => 'down',
  );
}

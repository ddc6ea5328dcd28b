import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis client for tests: several URLs separated by commas are the seed nodes of a Redis
 * Cluster (privateRedisCluster), answered by an ioredis `Cluster` typed as `Redis`.
 */
export function testRedis(url: string, opts: RedisOptions = {}): Redis {
  if (!url.includes(',')) return new Redis(url, opts);
  const seeds = url.split(',').map((u) => {
    const p = new URL(u);
    return { host: p.hostname, port: Number(p.port) };
  });
  const { lazyConnect, ...redisOptions } = opts;
  return new Cluster(seeds, { lazyConnect: lazyConnect ?? false, redisOptions }) as unknown as Redis;
}

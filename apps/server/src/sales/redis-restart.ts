import type { SaleKeys } from '@surge/hot-state';
import type { EventFeed, Logger } from '@surge/infra';
import type { Redis } from 'ioredis';
import type { SaleCatalog } from './catalog.ts';

/**
 * docs/architecture.md#when-a-rebuild-starts: a Redis restart (new run_id) may have lost
 * acknowledged writes (AOF fsyncs once a second), so every sale is rebuilt. The last seen run_id
 * lives in Redis itself: it survives our own restarts, and finding it missing also means lost data.
 */
export class RedisRestartWatch {
  constructor(
    private readonly d: {
      redis: Redis;
      /** Where the last seen run_id is kept (globalKeys(ns).redisRunId). */
      runIdKey: string;
      catalog: SaleCatalog;
      keysOf(saleId: string): SaleKeys;
      log: Logger;
      events: EventFeed;
    },
  ) {}

  /** Flags every sale that has not ended for a rebuild when the run_id changed or went missing. */
  async check(): Promise<void> {
    const { redis, catalog, keysOf, log, events } = this.d;
    const info = await redis.info('server');
    const id = /run_id:(\w+)/.exec(info)?.[1];
    if (!id) return;
    const previous = await redis.getset(this.d.runIdKey, id);
    if (previous === id) return;
    if (previous !== null || catalog.ids().length > 0) {
      log.warn(
        { event: 'redis.restarted', previous },
        'Redis run_id changed or unknown: rebuilding every sale',
      );
      void events.emit('health', 'Redis restarted or lost data: rebuilding every sale');
      for (const saleId of catalog.ids())
        if (!catalog.ended(saleId)) await redis.set(keysOf(saleId).rebuild, '1');
    }
  }
}

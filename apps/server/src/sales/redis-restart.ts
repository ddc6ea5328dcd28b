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

  /**
   * When the run_id changed or went missing, flags for a rebuild every sale that has not ended
   * and whose hot state was built under another run (the hot hash's `runId`, written by
   * write-hot-state.lua). A sale already rebuilt under this run — its hot state was missing
   * after the restart, so a request rebuilt it before this check ran — is left alone (it was
   * flagged for a second rebuild at once before).
   */
  async check(): Promise<void> {
    if (this.d.redis.isCluster) return this.checkShards();
    const { redis, catalog, keysOf, log, events } = this.d;
    const info = await redis.info('server');
    const id = /run_id:(\w+)/.exec(info)?.[1];
    if (!id) return;
    const previous = await redis.get(this.d.runIdKey);
    if (previous === id) return;
    let flagged = 0;
    for (const saleId of catalog.ids()) {
      if (catalog.ended(saleId)) continue;
      const k = keysOf(saleId);
      flagged += Number(await redis.eval(FLAG_IF_BUILT_BEFORE, 2, k.hot, k.rebuild, id));
    }
    // Stored only once every sale is flagged: a check that fails half-way (Redis gone again, this
    // server killed) leaves the old id, so the next tick, here or on any server, flags them all.
    await redis.set(this.d.runIdKey, id);
    if (previous !== null || flagged > 0) {
      log.warn(
        { event: 'redis.restarted', previous, flagged },
        'Redis run_id changed or unknown: rebuilding every sale built before',
      );
      void events.emit('health', `Redis restarted or lost data: rebuilding ${flagged} sale(s)`);
    }
  }

  /**
   * Redis Cluster: the same check per shard. Each sale keeps, under its own hash tag,
   * the run_id of the primary that serves it, read and swapped there by one script — so the
   * stored id lives and dies with that shard's data, and a primary that restarted with its
   * persistence (same cluster node id, so the Lua fence lets it through) or a promoted replica
   * flags exactly the sales of its shard. A missing id is a new sale or a shard that lost
   * everything, whose missing hot state starts the rebuild by itself.
   */
  private async checkShards(): Promise<void> {
    const { redis, catalog, keysOf, log, events } = this.d;
    for (const saleId of catalog.ids()) {
      if (catalog.ended(saleId)) continue;
      const k = keysOf(saleId);
      const [previous, id] = (await redis.eval(SWAP_RUN_ID, 2, `${k.hot}:run-id`, k.hot)) as [
        string | null,
        string,
      ];
      if (previous === null || previous === id) continue;
      log.warn(
        { event: 'redis.restarted', saleId, previous, id },
        'Redis shard restarted or failed over: rebuilding',
      );
      void events.emit('health', `Redis shard of sale ${saleId} restarted or failed over: rebuilding`);
      await redis.set(k.rebuild, '1');
    }
  }
}

/**
 * KEYS[1] the hot hash, KEYS[2] the rebuild flag; ARGV[1] the current run_id. Sets the flag
 * unless the hot state was written under this run; returns 1 when it did. One step, so a
 * rebuild finishing meanwhile is either seen or not flagged.
 */
const FLAG_IF_BUILT_BEFORE = `
if redis.call('HGET', KEYS[1], 'runId') == ARGV[1] then return 0 end
redis.call('SET', KEYS[2], '1')
return 1`;

/** KEYS[1] the stored run_id, KEYS[2] the hot hash (its expAt); returns {previous or nil, run_id}. */
const SWAP_RUN_ID = `
local id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local previous = redis.call('GET', KEYS[1])
if previous ~= id then
  redis.call('SET', KEYS[1], id)
  local expAt = tonumber(redis.call('HGET', KEYS[2], 'expAt'))
  if expAt then redis.call('EXPIREAT', KEYS[1], expAt) end
end
return { previous or false, id }`;

// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { natsNames } from '../../packages/contracts/src/messages.ts';
import { saleKeys } from '../../packages/hot-state/src/keys.ts';
import { waitUntilReady } from '../../scripts/spawn-app.mjs';
import type { PrivateServer } from '../support/private-servers.ts';
import type { Fault } from './schedule.ts';
import type { ChaosStack, Slot } from './stack.ts';

/** One fault as it happened: times in ms on the history's clock. */
export interface FaultRecord {
  kind: Fault['kind'];
  target: string;
  start: number;
  /** When the fault was healed (restart done, SIGCONT sent). */
  healed: number;
  /** When every server and worker answered /readyz again. */
  ready: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number | undefined, sig: NodeJS.Signals) {
  if (pid === undefined) throw new Error(`no process to send ${sig} to`);
  process.kill(pid, sig);
}

/**
 * Injects one fault and heals it, then waits until every server and worker is ready again.
 * `admin(server, path, input)` makes a recorded admin call on that server (never awaited
 * here: the kill is the point).
 */
export async function inject(
  stack: ChaosStack,
  fault: Fault,
  now: () => number,
  admin: (server: Slot, path: string, input: unknown) => Promise<unknown>,
  saleIds: readonly string[],
): Promise<FaultRecord> {
  const server = stack.servers[fault.target % stack.servers.length] as Slot;
  const worker = stack.workers[fault.target % stack.workers.length] as Slot;
  const natsNode = stack.nats[fault.target % stack.nats.length] as ChaosStack['nats'][number];
  const sale = saleIds[fault.target % saleIds.length] as string;
  const natsOther = stack.nats[(fault.target + 1) % stack.nats.length] as ChaosStack['nats'][number];
  const redis = () => {
    if (!stack.redis) throw new Error(`${fault.kind} needs the single Redis (not --cluster)`);
    return stack.redis;
  };
  const natsName = (i: number) => (stack.nats.length > 1 ? `nats-${(i % stack.nats.length) + 1}` : 'nats');
  const target = {
    'kill-server': server.name,
    'kill-worker': worker.name,
    'redis-wipe': 'redis',
    'redis-outage': 'redis',
    'redis-rollback': 'redis',
    'postgres-restart': 'postgres',
    'nats-restart': natsName(fault.target),
    'nats-restart-twice': `${natsName(fault.target)}, then ${natsName(fault.target + 1)}`,
    'redis-node-kill': `primary of ${sale}`,
    'stop-server': server.name,
    'stop-worker': worker.name,
    'kill-during-rebuild': `${server.name} (${sale})`,
    'kill-during-restock': `${server.name} (${sale})`,
  }[fault.kind];
  const start = now();
  let error: string | undefined;
  let detail: string | undefined;
  let leaderWatch: Promise<number | null> | undefined;
  try {
    switch (fault.kind) {
      case 'kill-server':
        await server.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await server.restart();
        break;
      case 'kill-worker':
        await worker.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await worker.restart();
        break;
      case 'redis-wipe':
        await redis().stop();
        await sleep(fault.holdMs);
        await redis().start();
        break;
      case 'redis-rollback':
        detail = await rollBackRedis(redis(), fault.holdMs);
        break;
      case 'redis-outage':
        signal(redis().pid(), 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(redis().pid(), 'SIGCONT');
        break;
      case 'postgres-restart':
        await stack.postgres.stop();
        await sleep(fault.holdMs);
        await stack.postgres.start();
        break;
      case 'nats-restart':
        await natsNode.stop();
        await sleep(fault.holdMs);
        await natsNode.start();
        break;
      case 'nats-restart-twice':
        // Two restarts in a row: the second node goes down as soon as the first is back.
        await natsNode.stop();
        await sleep(fault.holdMs);
        await natsNode.start();
        await natsOther.stop();
        await sleep(fault.holdMs);
        await natsOther.start();
        leaderWatch = streamLeaderMs(stack);
        break;
      case 'redis-node-kill':
        detail = await killRedisPrimary(stack, sale, fault.holdMs);
        break;
      case 'stop-server':
        signal(server.app.pid, 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(server.app.pid, 'SIGCONT');
        break;
      case 'stop-worker':
        signal(worker.app.pid, 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(worker.app.pid, 'SIGCONT');
        break;
      case 'kill-during-rebuild':
      case 'kill-during-restock': {
        const call =
          fault.kind === 'kill-during-rebuild'
            ? admin(server, 'admin.flushCache', { saleId: sale })
            : admin(server, 'admin.restock', { saleId: sale, quantity: 5 + fault.delayMs });
        void call.catch(() => undefined);
        await sleep(fault.delayMs);
        await server.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await server.restart();
        break;
      }
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const healed = now();
  if (leaderWatch) {
    const ms = await leaderWatch;
    detail = `the orders stream answered with a leader ${ms === null ? 'not within 60 s' : `${(ms / 1000).toFixed(1)} s`} after the heal`;
  }
  try {
    await Promise.all([...stack.servers, ...stack.workers].map((s) => waitUntilReady(s.app, 90_000)));
  } catch (err) {
    error = `${error ? `${error}; ` : ''}not ready after the heal: ${err instanceof Error ? err.message : String(err)}`;
  }
  return {
    kind: fault.kind,
    target: detail ? `${target} (${detail})` : target,
    start,
    healed,
    ready: now(),
    ...(error ? { error } : {}),
  };
}

/**
 * A Redis brought back from an older state: SAVE a snapshot now, let the load go on for `holdMs`
 * (what it sells then, the snapshot does not hold), kill -9 Redis and restart it — it loads the
 * snapshot. The file is then deleted, so a later `redis-wipe` still restarts empty. Returns what
 * the snapshot had forgotten: how many keys changed is not known, the time it spans is.
 */
async function rollBackRedis(redis: PrivateServer, holdMs: number): Promise<string> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  let dir: string;
  try {
    await client.connect();
    dir = ((await client.config('GET', 'dir')) as string[])[1] as string;
    await client.save();
  } finally {
    client.disconnect();
  }
  const saved = Date.now();
  await sleep(holdMs);
  const lostMs = Date.now() - saved;
  await redis.stop(); // kill -9 by PID: nothing is saved on the way out
  await redis.start();
  // Redis listens before it has read the file (it answers LOADING meanwhile): the file goes only
  // once Redis answers, or the fault would turn into a wipe.
  const after = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => 50 });
  let keys = 0;
  try {
    await after.connect();
    for (let t0 = Date.now(); ; ) {
      const pong = await after.ping().catch(() => null);
      if (pong === 'PONG') break;
      if (Date.now() - t0 > 30_000) throw new Error('Redis did not finish loading the snapshot within 30 s');
      await sleep(50);
    }
    keys = await after.dbsize();
  } finally {
    after.disconnect();
  }
  rmSync(join(dir, 'dump.rdb'), { force: true });
  return `restarted from a snapshot ${(lostMs / 1000).toFixed(1)} s old, ${keys} keys${keys === 0 ? ': NOT LOADED' : ''}`;
}

/**
 * kill -9 the Redis Cluster primary serving `saleId`'s slot, wait until its replica is promoted,
 * keep it down `holdMs` more, restart it (empty: it rejoins as the new primary's replica) and
 * wait until the cluster is healthy. Returns what happened, with the promotion's time.
 */
async function killRedisPrimary(stack: ChaosStack, saleId: string, holdMs: number): Promise<string> {
  const cluster = stack.redisCluster;
  if (!cluster) throw new Error('redis-node-kill needs --cluster');
  const key = saleKeys(stack.ns, saleId).hot;
  const { primary, replica } = await cluster.roles(key);
  await primary.stop(); // kill -9 by PID
  const killed = Date.now();
  let promotedMs: number | null = null;
  while (Date.now() - killed < 30_000) {
    const now = await cluster.roles(key, false).catch(() => null);
    if (now?.primary === replica) {
      promotedMs = Date.now() - killed;
      break;
    }
    await sleep(100);
  }
  await sleep(holdMs);
  await primary.start();
  await cluster.healthy(30_000);
  if (promotedMs === null) throw new Error(`replica :${replica.port} not promoted within 30 s`);
  return `:${primary.port} killed, replica :${replica.port} promoted after ${(promotedMs / 1000).toFixed(1)} s`;
}

/**
 * ms from now until the orders stream answers `STREAM.INFO` with a leader (R3: Raft caught up and
 * elected), polled every 100 ms; null after 60 s. Intake resuming later than this is Surge's own
 * delay, not the stream's.
 */
async function streamLeaderMs(stack: ChaosStack): Promise<number | null> {
  const t0 = Date.now();
  const stream = natsNames(stack.ns).stream;
  let nc: NatsConnection | null = null;
  try {
    while (Date.now() - t0 < 60_000) {
      try {
        nc ??= await connect({ servers: stack.natsUrl.split(','), maxReconnectAttempts: -1, timeout: 1000 });
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        const info = await jsm.streams.info(stream);
        if (info.cluster?.leader) return Date.now() - t0;
      } catch {
        // no leader yet, or the node we asked is still starting
      }
      await sleep(100);
    }
    return null;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

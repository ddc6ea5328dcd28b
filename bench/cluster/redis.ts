/**
 * The cost of the reserve step (reserve-stock.lua, the step of every order.place) per call,
 * against a private single redis-server (the baseline) and a private Redis Cluster of 3
 * primaries with one replica each (the step there runs the node fence too: CLUSTER MYID and one
 * HGET). Through the app's own client (packages/infra createRedis, ioredis Cluster for the
 * cluster) and scripts (OrderScripts): the time of one call awaited alone, calls/s with a
 * window in flight, Redis's own time per call (INFO commandstats, evalsha), and the CPU of the
 * redis-server processes per call (the cluster: the sale's primary, and all six nodes, which
 * includes the replica applying the writes).
 */
import { execFileSync } from 'node:child_process';
import { OrderScripts, saleKeyList, saleKeys } from '@surge/hot-state';
import { createRedis } from '@surge/infra';
import { hotFields } from '../../apps/server/src/sales/hot-state.ts';
import { privateRedisCluster } from '../../tests/support/private-redis-cluster.ts';
import { bin, type PrivateServer, privateRedis } from '../../tests/support/private-servers.ts';
import { cpuSeconds } from '../probes.ts';
import { CLUSTER_CFG, columns, fmt, ratio, windowed, withCleanup } from './common.ts';

export interface RedisFigures {
  label: string;
  latencyUs: number;
  perS: number;
  /** usec_per_call of evalsha on the node that ran the steps. */
  redisUs: number;
  /** CPU per call: the node that ran the steps; every node of the setup. */
  primaryCpuUs: number;
  allCpuUs: number;
  replies: string;
}

const info = (port: number, ...args: string[]) =>
  execFileSync(bin('redis-cli'), ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });

async function measure(
  label: string,
  url: string,
  cluster: boolean,
  nodes: PrivateServer[],
  primaryOf: (key: string) => Promise<PrivateServer>,
): Promise<RedisFigures> {
  const redis = createRedis(url, 'bench-cluster', cluster);
  return withCleanup(
    async () => redis.disconnect(),
    async () => {
      await redis.connect();
      const scripts = new OrderScripts(redis);
      const k = saleKeys(`bench${Date.now().toString(36)}`, 'bench-sale');
      const row = {
        id: 'bench-sale',
        name: 'bench',
        priceCents: 1000,
        totalStock: 10_000_000,
        perUserLimit: 1_000_000,
        startsAt: new Date(Date.now() - 60_000),
        endsAt: new Date(Date.now() + 3_600_000),
        paused: false,
        epoch: 1,
        queueAdmitPerSecond: null,
        queueTokenTtlS: null,
        queueOutstandingFactor: null,
      };
      const written = await scripts.writeHot(k, {
        token: '',
        hot: hotFields(row, row.totalStock, 60),
        users: {},
        orders: [],
        expireAtSec: Math.ceil(Date.now() / 1000) + 3600,
      });
      if (!written) throw new Error('writeHot failed');
      const primary = await primaryOf(saleKeyList(k)[0] as string);
      const replies = new Map<string, number>();
      let n = 0;
      const reserve = async () => {
        const i = n++;
        const r = await scripts.reserve(k, {
          userId: `u${i % 2000}`,
          idempotencyKey: `bench-key-${i}-xxxxxxxx`,
          quantity: 1,
          orderId: `bench-order-${i}`,
          token: 'tok',
          leaseMs: 60_000,
          replayOnly: false,
          correlationId: 'bench',
        });
        const kind = r[0];
        replies.set(kind, (replies.get(kind) ?? 0) + 1);
      };
      for (let i = 0; i < 200; i++) await reserve(); // warm-up: connections, the script loaded
      const latencyMs = await windowed(CLUSTER_CFG.sequential, 1, reserve);
      for (const node of nodes) info(node.port, 'CONFIG', 'RESETSTAT');
      const cpu = () => ({
        p: cpuSeconds(primary.pid() ?? 0),
        all: nodes.reduce((s, x) => s + cpuSeconds(x.pid() ?? 0), 0),
      });
      const before = cpu();
      const wallMs = await windowed(CLUSTER_CFG.concurrent, CLUSTER_CFG.window, reserve);
      const after = cpu();
      const stats = info(primary.port, 'INFO', 'commandstats');
      const redisUs = Number(/^cmdstat_evalsha:.*usec_per_call=([\d.]+)/m.exec(stats)?.[1] ?? Number.NaN);
      const calls = CLUSTER_CFG.concurrent;
      return {
        label,
        latencyUs: (latencyMs * 1000) / CLUSTER_CFG.sequential,
        perS: calls / (wallMs / 1000),
        redisUs,
        primaryCpuUs: ((after.p - before.p) * 1e6) / calls,
        allCpuUs: ((after.all - before.all) * 1e6) / calls,
        replies: [...replies].map(([kind, c]) => `${kind} ${c}`).join(', '),
      };
    },
  );
}

export async function measureRedis(): Promise<RedisFigures[]> {
  const single = await privateRedis();
  const a = await withCleanup(
    () => single.destroy(),
    () => measure('single redis-server (baseline)', single.url, false, [single], async () => single),
  );
  const cluster = await privateRedisCluster({ primaries: 3, nodeTimeoutMs: 5000 });
  const b = await withCleanup(
    () => cluster.destroy(),
    () =>
      measure('Redis Cluster 3+3', cluster.url, true, cluster.nodes, async (key) => {
        return (await cluster.roles(key, false)).primary;
      }),
  );
  return [a, b];
}

export function redisTable(rows: RedisFigures[]): string {
  const base = rows[0];
  const r = (x: number, b: number | undefined) => ratio(x, b ?? Number.NaN);
  return columns([
    ['', 'µs/call alone', 'calls/s', '×', 'Redis µs/call', '×', 'node CPU µs', '×', 'all nodes CPU µs'],
    ...rows.map((x) => [
      x.label,
      fmt(x.latencyUs),
      fmt(x.perS),
      r(x.perS, base?.perS),
      fmt(x.redisUs, 1),
      r(x.redisUs, base?.redisUs),
      fmt(x.primaryCpuUs, 1),
      r(x.primaryCpuUs, base?.primaryCpuUs),
      fmt(x.allCpuUs, 1),
    ]),
  ]);
}

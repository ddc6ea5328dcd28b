import { join } from 'node:path';
import { type SpawnedApp, spawnApp, waitUntilReady } from '../../scripts/spawn-app.mjs';
import { baseEnv } from '../support/env.ts';
import { privateRedisCluster } from '../support/private-redis-cluster.ts';
import {
  type PrivateServer,
  privateNats,
  privateNatsCluster,
  privatePostgres,
  privateRedis,
} from '../support/private-servers.ts';
import { createTestDatabase, freePort, newNamespace, type TestDatabase } from '../support/services.ts';

/**
 * The fault run's stack: private Redis (one node without persistence, or with `--cluster` a Redis
 * Cluster of 3 primaries and 3 replicas), NATS (one node, or a 3-node cluster),
 * PostgreSQL on free ports, a database on it, and built servers and workers as processes on
 * fixed ports (a restarted server comes back where its shoppers look for it). Everything is
 * stopped by PID and removed by `destroy()`.
 */
type RedisCluster = Awaited<ReturnType<typeof privateRedisCluster>>;

export interface ChaosStack {
  ns: string;
  db: TestDatabase;
  /** The single Redis (no persistence); absent with `--cluster`. */
  redis: PrivateServer | undefined;
  /** `--cluster`: a Redis Cluster of 3 primaries with a replica each. */
  redisCluster: RedisCluster | undefined;
  /** REDIS_URL: the single node, or the cluster's seed nodes. */
  redisUrl: string;
  /** The single NATS, or every node of the cluster. */
  nats: PrivateServer[];
  natsUrl: string;
  postgres: PrivateServer;
  servers: Slot[];
  workers: Slot[];
  env: Record<string, string>;
  destroy(): Promise<void>;
}

/** A server or worker process that can be killed, stopped and restarted on its port. */
export interface Slot {
  name: string;
  url: string;
  app: SpawnedApp;
  restart(): Promise<void>;
}

export async function startChaosStack(o: {
  servers: number;
  workers: number;
  cluster: boolean;
  env: Record<string, string>;
  /** Each server's and worker's whole output, every incarnation, goes to `<logDir>/<name>.log`. */
  logDir?: string;
}): Promise<ChaosStack> {
  const started: { destroy(): Promise<void> }[] = [];
  const slots: Slot[] = [];
  let db: TestDatabase | undefined;
  try {
    let redis: PrivateServer | undefined;
    let redisCluster: RedisCluster | undefined;
    if (o.cluster) {
      redisCluster = await privateRedisCluster({ primaries: 3 });
      started.push(redisCluster);
    } else {
      redis = await privateRedis({ aof: false });
      started.push(redis);
    }
    const redisUrl = redisCluster?.url ?? (redis as PrivateServer).url;
    const postgres = await privatePostgres();
    started.push(postgres);
    let nats: PrivateServer[];
    let natsUrl: string;
    if (o.cluster) {
      const c = await privateNatsCluster(3);
      started.push(c);
      nats = c.nodes;
      natsUrl = c.url;
    } else {
      const n = await privateNats();
      started.push(n);
      nats = [n];
      natsUrl = n.url;
    }
    db = await createTestDatabase(postgres.url);
    const ns = newNamespace();
    const env = baseEnv(db, ns, {
      REDIS_URL: redisUrl,
      NATS_URL: natsUrl,
      ...(o.cluster ? { STREAM_REPLICAS: '3', REDIS_CLUSTER: 'true' } : {}),
      ...o.env,
    });
    const slot = async (kind: 'server' | 'worker', i: number): Promise<Slot> => {
      const port = await freePort();
      const name = `${kind}-${i + 1}`;
      const spawn = () =>
        spawnApp({
          app: kind,
          port,
          label: name,
          ...(o.logDir ? { logFile: join(o.logDir, `${name}.log`) } : {}),
          env: { ...env, ...(kind === 'worker' ? { WORKER_ID: name } : {}) },
          waitReady: false,
        });
      const s: Slot = {
        name,
        url: `http://127.0.0.1:${port}`,
        app: await spawn(),
        async restart() {
          await s.app.kill();
          s.app = await spawn();
          await waitUntilReady(s.app, 60_000);
        },
      };
      await waitUntilReady(s.app, 60_000);
      slots.push(s);
      return s;
    };
    const servers: Slot[] = [];
    for (let i = 0; i < o.servers; i++) servers.push(await slot('server', i));
    const workers: Slot[] = [];
    for (let i = 0; i < o.workers; i++) workers.push(await slot('worker', i));
    const database = db;
    return {
      ns,
      db: database,
      redis,
      redisCluster,
      redisUrl,
      nats,
      natsUrl,
      postgres,
      servers,
      workers,
      env,
      async destroy() {
        await Promise.all(slots.map((s) => s.app.kill()));
        await database.drop().catch(() => undefined);
        for (const s of started.reverse()) await s.destroy().catch(() => undefined);
      },
    };
  } catch (err) {
    await Promise.all(slots.map((s) => s.app.kill()));
    await db?.drop().catch(() => undefined);
    for (const s of started.reverse()) await s.destroy().catch(() => undefined);
    throw err;
  }
}

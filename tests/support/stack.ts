import { startServer } from '../../apps/server/src/app.ts';
import { startWorker } from '../../apps/worker/src/worker.ts';
import { type SpawnedApp, spawnApp } from '../../scripts/spawn-app.mjs';
import { TestClient } from './client.ts';
import { ADMIN_PASSWORD, baseEnv } from './env.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from './services.ts';

export { ADMIN_PASSWORD, baseEnv, SESSION_SECRET } from './env.ts';

export type TestServer = Awaited<ReturnType<typeof startServer>>;
export type TestWorker = Awaited<ReturnType<typeof startWorker>>;

/**
 * One isolated stack for a test file: a fresh database and namespace, and helpers to start
 * servers in-process or as child processes (for `kill -9`). `teardown()` removes everything.
 */
export async function createStack(opts: { postgres?: string; redis?: string; nats?: string } = {}) {
  const db = await createTestDatabase(opts.postgres);
  const urls: Record<string, string> = {
    ...(opts.redis ? { REDIS_URL: opts.redis } : {}),
    ...(opts.nats ? { NATS_URL: opts.nats } : {}),
  };
  const ns = newNamespace();
  const servers: TestServer[] = [];
  const workers: TestWorker[] = [];
  const children: SpawnedApp[] = [];
  const spawned = async (starting: Promise<SpawnedApp>) => {
    const app = await starting;
    children.push(app);
    return app;
  };

  return {
    db,
    ns,
    env: (o: Record<string, string> = {}) => baseEnv(db, ns, { ...urls, ...o }),
    async server(overrides: Record<string, string> = {}): Promise<TestServer> {
      const s = await startServer(baseEnv(db, ns, { ...urls, ...overrides }));
      servers.push(s);
      return s;
    },
    async worker(overrides: Record<string, string> = {}): Promise<TestWorker> {
      const w = await startWorker(baseEnv(db, ns, { ...urls, ...overrides }));
      workers.push(w);
      return w;
    },
    /** A built worker in its own process, to `kill -9` it. */
    async spawnWorker(
      overrides: Record<string, string> = {},
      opts: { waitReady?: boolean } = {},
    ): Promise<SpawnedApp> {
      return spawned(
        spawnApp({
          app: 'worker',
          port: 'free',
          env: baseEnv(db, ns, { ...urls, ...overrides }),
          waitReady: opts.waitReady,
        }),
      );
    },
    /** A built server in its own process (`npm run build` first; the test runner does it). */
    async spawnServer(overrides: Record<string, string> = {}): Promise<SpawnedApp> {
      return spawned(
        spawnApp({ app: 'server', port: 'free', env: baseEnv(db, ns, { ...urls, ...overrides }) }),
      );
    },
    async admin(url: string): Promise<TestClient> {
      const c = new TestClient(url);
      await c.loginAdmin(ADMIN_PASSWORD);
      return c;
    },
    async teardown(): Promise<void> {
      await Promise.all(children.map((c) => c.kill()));
      await Promise.all(workers.map((w) => w.close().catch(() => undefined)));
      await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
      await cleanupNamespace(ns, opts.redis, opts.nats);
      await db.drop().catch(() => undefined);
    },
  };
}
export type Stack = Awaited<ReturnType<typeof createStack>>;

export interface SaleSpec {
  id: string;
  name?: string;
  priceCents?: number;
  totalStock: number;
  perUserLimit: number;
  startsAt?: string;
  endsAt?: string;
  queue?: { admitPerSecond: number; tokenTtlS?: number; outstandingFactor?: number };
}

export async function createSale(admin: TestClient, spec: SaleSpec) {
  const r = await admin.mutate('admin.createSale', { name: spec.id, priceCents: 1000, ...spec });
  if (r.status !== 200) throw new Error(`createSale: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.result?.data as { id: string; remaining: number; totalStock: number; state: string };
}

/** Shoppers with a session each. */
export async function shoppers(url: string, n: number): Promise<TestClient[]> {
  const list = Array.from({ length: n }, () => new TestClient(url));
  await Promise.all(list.map((c) => c.startSession()));
  return list;
}

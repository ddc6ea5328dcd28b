/**
 * Accepted orders/s end to end through HAProxy (scripts/haproxy.mjs, the configuration of `npm
 * run cluster`) with 1 and 2 servers and 1 and 2 workers, against a baseline measured in the
 * same run: 1 server and 1 worker without HAProxy. Each configuration has its own database,
 * namespace and sale; its servers share one SESSION_SECRET (a guest cookie from one is valid on
 * the other); HAProxy is a private process on a free port, stopped by PID.
 */
import { randomBytes } from 'node:crypto';
import { type SpawnedApp, spawnApp } from '../../scripts/spawn-app.mjs';
import { privateHaproxy } from '../../tests/support/private-servers.ts';
import {
  cleanupNamespace,
  createTestDatabase,
  eventually,
  newNamespace,
} from '../../tests/support/services.ts';
import { CFG, serverEnv, workerEnv } from '../config.ts';
import { createBenchSale, guestCookies, load, type Outcomes, percentiles } from '../load.ts';
import { cpuSeconds } from '../probes.ts';
import { CLUSTER_CFG, columns, fmt, ratio, withCleanup } from './common.ts';

export interface IntakeConfig {
  label: string;
  servers: number;
  workers: number;
  haproxy: boolean;
}

export const INTAKE_CONFIGS: IntakeConfig[] = [
  { label: 'direct 1s×1w (baseline)', servers: 1, workers: 1, haproxy: false },
  { label: 'HAProxy 1s×1w', servers: 1, workers: 1, haproxy: true },
  { label: 'HAProxy 1s×2w', servers: 1, workers: 2, haproxy: true },
  { label: 'HAProxy 2s×1w', servers: 2, workers: 1, haproxy: true },
  { label: 'HAProxy 2s×2w', servers: 2, workers: 2, haproxy: true },
  // The baseline again: how much the machine's other load moved during the run.
  { label: 'direct 1s×1w (again)', servers: 1, workers: 1, haproxy: false },
];

export interface IntakeFigures {
  label: string;
  acceptedPerS: number;
  p50: number;
  p99: number;
  refused: number;
  /** CPU per accepted order, µs: servers summed, workers summed, HAProxy. */
  serverUs: number;
  workerUs: number;
  haproxyUs: number;
}

export async function measureIntake(c: IntakeConfig): Promise<IntakeFigures> {
  const db = await createTestDatabase();
  const ns = newNamespace();
  const procs: SpawnedApp[] = [];
  let lb: Awaited<ReturnType<typeof privateHaproxy>> | undefined;
  const cleanup = async () => {
    await lb?.destroy();
    await Promise.all(procs.map((p) => p.stop()));
    await cleanupNamespace(ns);
    await db.drop();
  };
  return withCleanup(cleanup, async () => {
    const secret = `bench-${randomBytes(24).toString('hex')}`;
    const spawn = async (o: Parameters<typeof spawnApp>[0]) => {
      const app = await spawnApp({ ...o, port: 'free', waitReady: false });
      procs.push(app);
      await app.ready();
      return app;
    };
    const servers = await Promise.all(
      Array.from({ length: c.servers }, (_, i) =>
        spawn({
          app: 'server',
          label: `server ${i + 1}`,
          env: { ...serverEnv(db, ns), SESSION_SECRET: secret, TRUST_PROXY: c.haproxy ? 'true' : 'false' },
        }),
      ),
    );
    const workers = await Promise.all(
      Array.from({ length: c.workers }, (_, i) =>
        spawn({ app: 'worker', label: `worker ${i + 1}`, env: workerEnv(db, ns, `bench-cluster-${i + 1}`) }),
      ),
    );
    if (c.haproxy) lb = await privateHaproxy(servers.map((s) => s.port));
    const url = lb?.url ?? (servers[0] as SpawnedApp).url;
    // Through HAProxy: every server up in its health checks (round robin: 2 answers per server
    // in a row). Set-up calls are retried: on 2 shared cores a health check can time out and
    // take a server out for a moment (HAProxy then answers 503 itself).
    await eventually(
      async () => {
        for (let i = 0; i < 2 * c.servers; i++)
          if ((await fetch(`${url}/readyz`)).status !== 200) return false;
        return true;
      },
      30_000,
      250,
    );
    await eventually(() => createBenchSale(url).then(() => true), 30_000, 500);
    const userHeaders = await eventually(() => guestCookies(url, CFG.users), 60_000, 500);
    const outcomes: Outcomes = { accepted: new Set(), unanswered: new Set() };
    const common = { url, path: '/trpc/order.place', userHeaders, outcomes };
    if (CFG.warmupS > 0) await load({ ...common, durationS: CFG.warmupS, keyPrefix: 'cw' });
    const cpu = () => ({
      s: servers.reduce((t, p) => t + cpuSeconds(p.pid ?? 0), 0),
      w: workers.reduce((t, p) => t + cpuSeconds(p.pid ?? 0), 0),
      h: lb ? cpuSeconds(lb.pid() ?? 0) : 0,
    });
    const before = cpu();
    const out = await load({ ...common, durationS: CLUSTER_CFG.intakeS, keyPrefix: 'cm' });
    const after = cpu();
    for (const p of procs) if (!p.running()) throw new Error(`died during the run: ${p.report()}`);
    const accepted = out.result['2xx'];
    const per = (s: number) => (accepted > 0 ? (s * 1e6) / accepted : Number.NaN);
    return {
      label: c.label,
      acceptedPerS: accepted / out.result.duration,
      ...percentiles(out.latencies),
      refused: [...out.rejections.values()].reduce((s, x) => s + x, 0),
      serverUs: per(after.s - before.s),
      workerUs: per(after.w - before.w),
      haproxyUs: per(after.h - before.h),
    };
  });
}

export function intakeTable(rows: IntakeFigures[]): string {
  const base = rows[0];
  return columns([
    ['', 'accepted/s', '× baseline', 'p50 ms', 'p99 ms', 'refused', 'server µs', 'worker µs', 'HAProxy µs'],
    ...rows.map((r) => [
      r.label,
      fmt(r.acceptedPerS),
      ratio(r.acceptedPerS, base?.acceptedPerS ?? Number.NaN),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      fmt(r.refused),
      fmt(r.serverUs),
      fmt(r.workerUs),
      r.label.startsWith('HAProxy') ? fmt(r.haproxyUs) : '-',
    ]),
  ]);
}

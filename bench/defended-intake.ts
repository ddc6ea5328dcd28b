/**
 * The cost of the defence on order intake (README.md#security, issue 10 "Figures"): accepted
 * `order.place`/s on the built server with every limit at its default — per-user and per-IP
 * rate limits counted in Redis, proof of work on, read limit, SSE cap — against the same
 * server with the limits off, measured in this run, interleaved, with one load generator.
 *
 * The clients are spread over 127.0.0.0/8: each of 500 keep-alive connections binds its own
 * source address (127.x.y.1), so the per-IP limit (300 per 10 s) counts each as one shopper's
 * network, as behind no proxy; 8,000 shoppers share them, each well under their own limit (10
 * per 10 s). The limits are checked on every order, not hit. Shoppers' cookies are signed here
 * with the run's SESSION_SECRET: a new identity's proof of work is a once-per-shopper cost,
 * reported beside this by bench/pow-cost.ts. No worker runs: intake only, like the other
 * intake figures. `npx tsx bench/defended-intake.ts` runs it alone.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'undici';
import { sign } from '../apps/server/src/auth/signed-cookie.ts';
import { type SpawnedApp, spawnApp } from '../scripts/spawn-app.mjs';
import { TestClient } from '../tests/support/client.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from '../tests/support/services.ts';
import { benchCleanup } from './cleanup.ts';
import { ADMIN_PASSWORD, CFG, serverEnv } from './config.ts';
import { median, percentiles } from './load.ts';

const num = (name: string, def: number) => {
  const v = Number(process.env[name] || def);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const DURATION_S = num('BENCH_DEFENCE_S', 8);
const PAIRS = num('BENCH_DEFENCE_PAIRS', 3);
const SOURCES = 500;
const SHOPPERS = 8000;
const IN_FLIGHT = 100;

/** The server's limits: off, or every one at its default (apps/server/src/env.ts). */
const LIMITS = {
  off: {
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_READS_PER_IP: '0',
    SSE_MAX_PER_IP: '0',
    POW_MAX_NUMBER: '0',
    IP_UNIT_LIMIT: '0',
  },
  defaults: {
    RATE_LIMIT_PER_USER: '10',
    RATE_LIMIT_PER_IP: '300',
    RATE_LIMIT_WINDOW_MS: '10000',
    RATE_LIMIT_READS_PER_IP: '600',
    SSE_MAX_PER_IP: '20',
    POW_MAX_NUMBER: '500',
    POW_COST: '1000',
    IP_UNIT_LIMIT: '0',
    TRUST_PROXY: 'false',
  },
} as const;
type Mode = keyof typeof LIMITS;

interface Measured {
  mode: Mode;
  acceptedPerS: number;
  p50: number;
  p99: number;
  rejections: Map<string, number>;
}

async function measure(mode: Mode): Promise<Measured> {
  const db = await createTestDatabase();
  const ns = newNamespace();
  const forget = benchCleanup.add(async () => {
    await cleanupNamespace(ns);
    await db.drop().catch(() => undefined);
  });
  const secret = randomBytes(24).toString('hex');
  let server: SpawnedApp | undefined;
  const clients: Client[] = [];
  try {
    server = await spawnApp({
      app: 'server',
      port: 'free',
      env: { ...serverEnv(db, ns), SESSION_SECRET: secret, ...LIMITS[mode] },
    });
    const admin = new TestClient(server.url);
    await admin.loginAdmin(ADMIN_PASSWORD);
    const sale = await admin.mutate('admin.createSale', {
      id: CFG.saleId,
      name: 'defence bench',
      priceCents: 1000,
      totalStock: CFG.stock,
      perUserLimit: CFG.perUserLimit,
    });
    if (sale.status !== 200) throw new Error(`createSale: ${sale.status} ${JSON.stringify(sale.body)}`);
    // Production: the guest cookie is `__Host-surge_sid`, `<userId>:<issued at>` signed.
    const now = Math.floor(Date.now() / 1000);
    const cookies = Array.from(
      { length: SHOPPERS },
      (_, i) => `__Host-surge_sid=${sign(`u_bench_${i}_${ns}:${now}`, `${secret}:guest`)}`,
    );
    for (let i = 0; i < SOURCES; i++)
      clients.push(
        new Client(server.url, {
          pipelining: 1,
          localAddress: `127.${1 + (i >> 8)}.${i & 255}.1`,
        }),
      );

    const latencies: number[] = [];
    const rejections = new Map<string, number>();
    let accepted = 0;
    let n = 0;
    const run = randomBytes(3).toString('hex');
    const shoot = async (until: number, count: boolean) => {
      while (Date.now() < until) {
        const i = n++;
        const client = clients[i % SOURCES] as Client;
        const t0 = performance.now();
        const r = await client.request({
          method: 'POST',
          path: '/trpc/order.place',
          headers: { 'content-type': 'application/json', cookie: cookies[i % SHOPPERS] as string },
          body: JSON.stringify({ saleId: CFG.saleId, quantity: 1, idempotencyKey: `d-${run}-${i}` }),
        });
        const text = await r.body.text();
        if (!count) continue;
        latencies.push(performance.now() - t0);
        if (r.statusCode === 200) accepted++;
        else {
          let reason = `HTTP ${r.statusCode}`;
          try {
            reason = JSON.parse(text).error?.data?.reason ?? reason;
          } catch {}
          rejections.set(reason, (rejections.get(reason) ?? 0) + 1);
        }
      }
    };
    const loops = (s: number, count: boolean) => {
      const until = Date.now() + s * 1000;
      return Promise.all(Array.from({ length: IN_FLIGHT }, () => shoot(until, count)));
    };
    await loops(CFG.warmupS, false);
    const t0 = Date.now();
    await loops(DURATION_S, true);
    const seconds = (Date.now() - t0) / 1000;
    const p = percentiles(latencies);
    return { mode, acceptedPerS: accepted / seconds, p50: p.p50, p99: p.p99, rejections };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await server?.stop();
    await cleanupNamespace(ns);
    await db.drop().catch(() => undefined);
    forget();
  }
}

/** Runs the pairs (off, then defaults) and returns the report's lines. */
export async function defenceCostLines(): Promise<string[]> {
  const runs: Measured[] = [];
  for (let i = 0; i < PAIRS; i++)
    for (const mode of ['off', 'defaults'] as const) {
      process.stdout.write(`limits ${mode} ${i + 1}/${PAIRS}… `);
      runs.push(await measure(mode));
    }
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode);
  const ratios = of('defaults').map((d, i) => d.acceptedPerS / (of('off')[i]?.acceptedPerS ?? Number.NaN));
  const row = (mode: Mode) => {
    const rs = of(mode).map((r) => r.acceptedPerS);
    const rej = new Map<string, number>();
    for (const r of of(mode)) for (const [k, v] of r.rejections) rej.set(k, (rej.get(k) ?? 0) + v);
    return (
      `  limits ${mode.padEnd(8)}: median ${median(rs).toFixed(0)} accepted/s (range ${Math.min(...rs).toFixed(0)}–${Math.max(...rs).toFixed(0)}), ` +
      `p50 ${median(of(mode).map((r) => r.p50)).toFixed(1)} ms, p99 ${median(of(mode).map((r) => r.p99)).toFixed(1)} ms` +
      (rej.size > 0 ? `, refused: ${[...rej].map(([k, v]) => `${k} ${v}`).join(', ')}` : ', none refused')
    );
  };
  return [
    `order intake with every limit at its default vs limits off (${PAIRS} interleaved pairs of ${DURATION_S} s, ` +
      `${IN_FLIGHT} in flight over ${SOURCES} source addresses in 127.0.0.0/8, ${SHOPPERS} shoppers, no worker):`,
    row('off'),
    row('defaults'),
    `  defaults / off: median ${median(ratios).toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lines = await defenceCostLines();
  console.log('');
  for (const line of lines) console.log(line);
}

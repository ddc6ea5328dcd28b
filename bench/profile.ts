/**
 * `npm run bench:profile`: where the CPU goes. The server takes the bench's load with
 * `--cpu-prof` while no worker runs (a backlog builds), then one worker with `--cpu-prof` drains
 * that backlog; both stop gracefully, Node writes their `.cpuprofile` files (open them in
 * Chrome DevTools or speedscope for the flame graph) and this prints, per process, the self
 * time by package and the functions that cost the most.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnApp } from '../scripts/spawn-app.mjs';
import { ROOT } from '../tests/support/paths.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from '../tests/support/services.ts';
import { benchCleanup, exitOnSignals } from './cleanup.ts';
import { CFG, serverEnv, workerEnv } from './config.ts';
import { createBenchSale, guestCookies, load, type Outcomes } from './load.ts';
import { streamCount } from './probes.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const OUT = join(ROOT, '.surge', 'profiles');
const TOP = 25;

/** Where a frame's code lives: a package, our own code, Node's internals, or the engine. */
function ownerOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (internals)';
  if (url.includes('/dist/main.js')) return 'surge (bundled: its own code and inlined packages)';
  return url;
}

/** Self time (ms) per owner and per function, from the samples' time deltas. */
function summarise(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const owners = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    total += ms;
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
    const short = url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${short}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, owners: sorted(owners), fns: sorted(fns) };
}

function report(label: string, file: string, work: string, orders: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const s = summarise(p);
  const busy = s.total - (s.owners.find(([o]) => o === '(idle)')?.[1] ?? 0);
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
  console.log(
    `\n${label}: ${(s.total / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (${work}): ${Math.round((busy * 1000) / Math.max(1, orders))} µs busy per order`,
  );
  console.log(`  profile: ${file}`);
  console.log('  self time by owner (share of busy time):');
  for (const [o, ms] of s.owners.filter(([o]) => o !== '(idle)').slice(0, 12))
    console.log(`    ${pct(ms)}  ${o}`);
  console.log(`  top ${TOP} functions by self time:`);
  for (const [f, ms] of s.fns.filter(([f]) => !f.startsWith('(idle)')).slice(0, TOP))
    console.log(`    ${pct(ms)}  ${f}`);
}

const newest = (dir: string) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one profile in ${dir}, found ${files.length}`);
  return join(dir, files[0] as string);
};

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  const dirs = { server: join(OUT, 'server'), worker: join(OUT, 'worker') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const db = await createTestDatabase();
  const ns = newNamespace();
  benchCleanup.add(async () => {
    await cleanupNamespace(ns);
    await db.drop().catch(() => undefined);
  });
  const prof = (dir: string) => ({ NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
  const server = await spawnApp({
    app: 'server',
    port: 'free',
    env: { ...serverEnv(db, ns), ...prof(dirs.server) },
  });
  let accepted = 0;
  try {
    await createBenchSale(server.url);
    const userHeaders = await guestCookies(server.url, CFG.users);
    const outcomes: Outcomes = { accepted: new Set(), unanswered: new Set() };
    console.log(`server under load: ${CFG.durationS} s, ${CFG.connections} connections, no worker running…`);
    const out = await load({
      url: server.url,
      path: '/trpc/order.place',
      userHeaders,
      durationS: CFG.durationS,
      keyPrefix: 'prof',
      outcomes,
    });
    accepted = out.result['2xx'];
    const backlog = await streamCount(ns);
    console.log(
      `accepted ${accepted} orders (${Math.round(accepted / out.result.duration)}/s); ${backlog} in the stream`,
    );
    const started = Date.now();
    const worker = await spawnApp({
      app: 'worker',
      port: 'free',
      env: { ...workerEnv(db, ns, 'prof-1'), ...prof(dirs.worker) },
    });
    for (;;) {
      if ((await streamCount(ns)) === 0) break;
      if (Date.now() - started > CFG.drainTimeoutS * 1000) throw new Error('the backlog did not drain');
      await new Promise((r) => setTimeout(r, 200));
    }
    const drainS = (Date.now() - started) / 1000;
    console.log(
      `one worker drained the backlog in ${drainS.toFixed(1)} s (${Math.round(accepted / drainS)} orders/s)`,
    );
    await worker.stop();
    await server.stop();
    report('server', newest(dirs.server), `${accepted} orders accepted under load`, accepted);
    report('worker', newest(dirs.worker), `${accepted} orders persisted from a backlog`, accepted);
  } finally {
    await server.stop().catch(() => undefined);
    await cleanupNamespace(ns);
    await db.drop().catch(() => undefined);
  }
}

// SIGINT / SIGTERM: the server and the worker stopped, the namespace and the database removed.
exitOnSignals();
await main();

/**
 * `npm run bench:spike:profile`: where a refusal's CPU goes. For each kind of `order.place`
 * answer of the spike bench's cost phase (accepted, NOT_ADMITTED, SOLD_OUT), the bare request
 * of the same server (`floor`) and a `queue.join` before the start (`join`), a fresh built server
 * (no worker: none is needed for the answer) takes only that kind for a few seconds while its
 * V8 profiler runs — started and stopped over the inspector protocol, so the set-up (sessions,
 * the sale) stays out of the profile — and this prints its CPU per answer, self time by owner
 * and the costliest functions. The profiles are written to .surge/profiles/spike-<kind>.cpuprofile
 * (open them in Chrome DevTools or speedscope).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnApp } from '../../scripts/spawn-app.mjs';
import { TestClient } from '../../tests/support/client.ts';
import { ROOT } from '../../tests/support/paths.ts';
import { cleanupNamespace, createTestDatabase, newNamespace } from '../../tests/support/services.ts';
import { benchCleanup, exitOnSignals } from '../cleanup.ts';
import { ADMIN_PASSWORD, serverEnv } from '../config.ts';
import { guestCookies } from '../load.ts';
import { cpuSeconds } from '../probes.ts';
import { bare, call, closeCrowd, parallel } from './crowd.ts';
import { spikeOptions } from './options.ts';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const SECONDS = 4;
const CONN = 100;
const USERS = 2000;
const TOP = 22;

function owner(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return 'node (internals)';
  return url.includes('/dist/main.js') ? 'surge bundle' : url;
}

/** A minimal inspector-protocol client: Profiler.start, then Profiler.stop's profile. */
async function inspector(port: number) {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(list[0]?.webSocketDebuggerUrl as string);
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  let id = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((ok) => {
      waiting.set(++id, ok);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  return {
    start: () => send('Profiler.start'),
    stop: async () => {
      const r = (await send('Profiler.stop')) as { profile: Profile };
      ws.close();
      return r.profile;
    },
  };
}

function summary(p: Profile, answers: number): void {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const owners = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (!n) return;
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const { functionName: f, url, lineNumber } = n.callFrame;
    if (f === '(idle)') return;
    busy += ms;
    const o = owner(url, f);
    owners.set(o, (owners.get(o) ?? 0) + ms);
    const key = `${f || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
  });
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)} %`;
  console.log(`  busy ${(busy / 1000).toFixed(2)} s = ${((busy * 1000) / answers).toFixed(0)} µs per answer`);
  console.log('  self time by owner:');
  for (const [o, ms] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 10))
    console.log(`    ${pct(ms)}  ${o}`);
  console.log(`  top ${TOP} functions by self time:`);
  for (const [f, ms] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`    ${pct(ms)}  ${f}`);
}

/**
 * The kinds profiled (BENCH_SPIKE_PROFILE_KINDS, comma-separated, default all): the three
 * `order.place` answers, `floor` (POST /healthz with an order's headers and body: the bare
 * request of the same server) and `join` (`queue.join` before a queued sale's start).
 */
const kinds = spikeOptions().profileKinds;
// SIGINT / SIGTERM: the server stopped, the namespace and the database removed (bench/cleanup.ts).
exitOnSignals();
const db = await createTestDatabase();
const ns = newNamespace();
benchCleanup.add(async () => {
  closeCrowd();
  await cleanupNamespace(ns);
  await db.drop().catch(() => undefined);
});
try {
  for (const kind of kinds) {
    const dir = join(ROOT, '.surge', 'profiles');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `spike-${kind}.cpuprofile`);
    rmSync(file, { force: true });
    const inspectPort = await freePort();
    const server = await spawnApp({
      app: 'server',
      port: 'free',
      env: { ...serverEnv(db, ns), NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` },
    });
    try {
      const admin = new TestClient(server.url);
      await admin.loginAdmin(ADMIN_PASSWORD);
      const saleId = `prof-${kind.toLowerCase().replace('_', '-')}-${Date.now() % 1e6}`;
      const r = await admin.mutate('admin.createSale', {
        id: saleId,
        name: saleId,
        priceCents: 1000,
        totalStock: kind === 'SOLD_OUT' ? 0 : 10_000_000,
        perUserLimit: 100,
        ...(kind === 'NOT_ADMITTED' || kind === 'join' ? { queue: { admitPerSecond: 1 } } : {}),
        // Joins before the start (a random place each; joining again keeps it).
        ...(kind === 'join' ? { startsAt: new Date(Date.now() + 3_600_000).toISOString() } : {}),
      });
      if (r.status !== 200) throw new Error(`createSale ${JSON.stringify(r.body)}`);
      const cookies = (await guestCookies(server.url, USERS)).map((h) => h.cookie as string);
      let answers = 0;
      let wanted = 0;
      const run = async (ms: number) => {
        const until = Date.now() + ms;
        await parallel(CONN, async (w) => {
          for (let i = 0; Date.now() < until; i++) {
            const u = (w + i * CONN) % USERS;
            const order = { saleId, quantity: 1, idempotencyKey: `p-${kind}-${w}-${i}-${ms}` };
            const cookie = cookies[u] as string;
            if (kind === 'floor') {
              if ((await bare(server.url, null, order, cookie)) === 200) wanted++;
            } else if (kind === 'join') {
              const a = await call(server.url, null, 'queue.join', 'mutation', { saleId }, cookie);
              if (a.status === 200) wanted++;
            } else {
              const a = await call(server.url, null, 'order.place', 'mutation', order, cookie);
              if (kind === 'accepted' ? a.status === 200 : a.reason === kind) wanted++;
            }
            answers++;
          }
        });
      };
      await run(1000); // warm-up
      answers = 0;
      wanted = 0;
      const profiler = await inspector(inspectPort);
      await profiler.start();
      const cpu0 = cpuSeconds(server.pid as number);
      await run(SECONDS * 1000);
      const cpu = cpuSeconds(server.pid as number) - cpu0;
      const profile = await profiler.stop();
      writeFileSync(file, JSON.stringify(profile));
      console.log(
        `\n${kind}: ${answers} answers (${wanted} of that kind) in ${SECONDS} s; server CPU ${((cpu * 1e6) / answers).toFixed(0)} µs per answer (profiler on)`,
      );
      console.log(`  profile: ${file}`);
      summary(profile, answers);
    } finally {
      closeCrowd();
      await server.stop().catch(() => undefined);
    }
  }
} finally {
  await cleanupNamespace(ns);
  await db.drop().catch(() => undefined);
}

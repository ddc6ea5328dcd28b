/**
 * `npm run chaos` (README.md#fault-runs): load on several sales while a nemesis injects one fault at a time
 * from a seeded schedule, a history of every call, the invariant checker over the history,
 * PostgreSQL and Redis after the drain, and a report with a timeline picture. Exits 1 on any
 * violation (or a fault that did not heal).
 *
 *   CHAOS_SEED=42 CHAOS_DURATION_S=60 npm run chaos [-- --cluster]
 *   npm run chaos -- --test     the run of `npm test`: seed CHAOS_TEST_SEED, 60 s
 *
 * Everything runs on private Redis (no persistence), NATS and PostgreSQL on free ports, killed
 * by PID; the output goes to `.chaos/<time>-seed<seed>/` (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../../packages/hot-state/src/keys.ts';
import {
  checkSale,
  describeViolations,
  History,
  judge,
  judgeAdmissionHistory,
  observeSale,
  type Violation,
  waitForQuiet,
} from '../support/checker/index.ts';
import { ADMIN_PASSWORD } from '../support/env.ts';
import { ROOT } from '../support/paths.ts';
import { testRedis } from '../support/redis-client.ts';
import { closeAgent } from './client.ts';
import { Admin, runLoad } from './load.ts';
import { type FaultRecord, inject } from './nemesis.ts';
import { rebuildSummary, rebuildsOf } from './rebuilds.ts';
import { answersByKind, faultWindows, series, timelineSvg } from './report.ts';
import {
  buildSchedule,
  CLUSTER_KINDS,
  type FaultKind,
  parseKinds,
  REQUIRED_IN_TEST,
  SINGLE_NODE_KINDS,
} from './schedule.ts';
import { CHAOS_TEST_SEED } from './seed.ts';
import { type ChaosStack, startChaosStack } from './stack.ts';
import { watchStalls } from './stalls.ts';

const env = process.env;
/** `--test`: the short run of `npm test` — the fixed seed, 60 s, the faults it must include first. */
const testRun = process.argv.includes('--test');
const seed = testRun ? CHAOS_TEST_SEED : Number(env.CHAOS_SEED ?? Math.floor(Math.random() * 1e9));
const durationS = testRun ? 60 : Number(env.CHAOS_DURATION_S ?? 120);
const cluster = process.argv.includes('--cluster');
const required: readonly FaultKind[] = testRun ? REQUIRED_IN_TEST : [];
/** `CHAOS_FAULTS=kill-server,redis-wipe`: only these faults (default: every kind). */
const listed = parseKinds(env.CHAOS_FAULTS);
const kinds = listed.length > 0 ? listed : cluster ? [...CLUSTER_KINDS] : [...SINGLE_NODE_KINDS];
const shoppers = Number(env.CHAOS_SHOPPERS ?? 16);
const LEASE_MS = 3000;
const ACK_WAIT_MS = 3000;
/** The queued sale (a waiting room): its shoppers join, wait for admission, buy with the token. */
const QUEUED = 'chaos-q';
const QUEUE = { admitPerSecond: 20, tokenTtlS: 30, outstandingFactor: 2 };
const SALES = ['chaos-a', 'chaos-b', 'chaos-c', QUEUED];
/** Faults after which Redis may have lost a sale's waiting room (I8 is judged between them). */
const ROOM_LOSSES = new Set<string>(['redis-wipe', 'redis-node-kill', 'redis-rollback']);
/** The checks that hold while calls are in flight (the rest are judged once quiet). */
const AT_EVERY_MOMENT = new Set([
  'remaining-negative',
  'oversold',
  'over-limit',
  'duplicate-row',
  'two-orders-one-key',
]);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = env.CHAOS_OUT ?? join(ROOT, '.chaos', `${stamp}-seed${seed}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[chaos] ${msg}`);

log(
  `seed ${seed}, ${durationS} s${cluster ? ', NATS cluster' : ''} — replay: CHAOS_SEED=${seed} CHAOS_DURATION_S=${durationS} npm run chaos${cluster ? ' -- --cluster' : ''}`,
);
mkdirSync(out, { recursive: true });

let stack: ChaosStack | undefined;
let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= (async () => {
    await stack?.destroy().catch((err) => log(`cleanup: ${err}`));
    await closeAgent().catch(() => undefined);
  })();
  return cleaning;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    log(`${sig}: stopping and removing the private servers`);
    void cleanup().then(() => process.exit(130));
  });

try {
  process.exitCode = await main();
} catch (err) {
  log(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 2;
} finally {
  await cleanup();
}

/** Whether an order.place invoked after `since` (history clock) was accepted, within `timeoutMs`. */
async function acceptedSince(history: History, since: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  let from = 0;
  const invokedAfter = new Set<number>();
  while (Date.now() < until) {
    const events = history.events;
    for (; from < events.length; from++) {
      const e = events[from];
      if (e?.f !== 'place') continue;
      if (e.type === 'invoke' && e.time >= since) invokedAfter.add(e.op);
      if (e.type === 'ok' && invokedAfter.has(e.op)) return true;
    }
    await sleep(100);
  }
  return false;
}

/** Waits until the sale's hot state exists and its rebuild flag is gone. */
async function rebuilt(s: ChaosStack, saleId: string, timeoutMs: number): Promise<void> {
  const redis = testRedis(s.redisUrl);
  const k = saleKeys(s.ns, saleId);
  try {
    for (const until = Date.now() + timeoutMs; ; await sleep(100)) {
      const [hot, flag] = await Promise.all([redis.exists(k.hot), redis.exists(k.rebuild)]).catch(() => [
        0, 1,
      ]);
      if (hot === 1 && flag === 0) return;
      if (Date.now() > until) throw new Error(`${saleId} not rebuilt within ${timeoutMs / 1000} s`);
    }
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  stack = await startChaosStack({
    servers: 2,
    workers: 2,
    cluster,
    env: {
      LEASE_MS: String(LEASE_MS),
      SWEEP_INTERVAL_MS: '300',
      WORKER_ACK_WAIT_MS: String(ACK_WAIT_MS),
      PAYMENT_FAILURE_RATE: '0.05',
      LOG_LEVEL: env.CHAOS_LOG_LEVEL ?? 'info',
    },
    logDir: out,
  });
  const s = stack;
  log(`stack up: namespace ${s.ns}, Redis ${s.redisUrl}, NATS ${s.natsUrl}, PostgreSQL :${s.postgres.port}`);

  const history = new History();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const admin = new Admin({ history, adminPassword: ADMIN_PASSWORD });
  const first = s.servers[0];
  if (!first) throw new Error('no server');
  const stock = Math.max(1000, durationS * 100);
  let startsAtMs = 0;
  for (const id of SALES) {
    const r = await admin.call(first, 'admin.createSale', {
      id,
      name: `Chaos ${id}`,
      priceCents: 1000,
      totalStock: stock,
      perUserLimit: 4,
      ...(id === QUEUED ? { queue: QUEUE } : {}),
    });
    if (r?.status !== 200) throw new Error(`createSale ${id}: ${r?.status} ${JSON.stringify(r?.body)}`);
    if (id === QUEUED)
      startsAtMs = Date.parse((r.body.result?.data as { startsAt?: string } | undefined)?.startsAt ?? '');
  }

  const schedule = buildSchedule({
    seed,
    count: 10_000,
    servers: s.servers.length,
    workers: s.workers.length,
    leaseMs: LEASE_MS,
    ackWaitMs: ACK_WAIT_MS,
    first: required,
    kinds,
  });
  let stopped = false;
  const load = runLoad(
    {
      history,
      servers: () => s.servers,
      saleIds: SALES,
      shoppers,
      seed,
      adminPassword: ADMIN_PASSWORD,
      stopped: () => stopped,
      queuedSaleId: QUEUED,
    },
    admin,
  );

  // Invariants that hold at every moment (I1, I5, no duplicate): sampled while faults run.
  const sampled: Violation[] = [];
  // Its own client: while Redis is down a read fails at once (no retries, no unhandled errors).
  const sampleRedis = testRedis(s.redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  sampleRedis.on('error', () => undefined);
  // What a rebuild stuck for 5 s or more waits on (records, the stream against the consumer).
  const stalls = watchStalls({
    ns: s.ns,
    redisUrl: s.redisUrl,
    natsUrl: s.natsUrl,
    saleIds: SALES,
    now,
    stopped: () => stopped,
  });
  const sampler = (async () => {
    while (!stopped) {
      await sleep(2000);
      for (const saleId of SALES) {
        try {
          const obs = await observeSale({ db: s.db.url, redis: sampleRedis, ns: s.ns, saleId });
          for (const v of judge(obs, { quiet: false }).violations)
            if (AT_EVERY_MOMENT.has(v.check))
              sampled.push({ ...v, message: `at ${Math.round(now())} ms: ${v.message}` });
        } catch {
          // a store is down: nothing to sample now
        }
      }
    }
  })();

  const faults: FaultRecord[] = [];
  const endMs = durationS * 1000;
  await sleep(3000);
  for (const fault of schedule) {
    const mustRun = faults.length < required.length;
    if (!mustRun && now() > endMs - 8000) break;
    log(`${(now() / 1000).toFixed(1)} s: ${fault.kind} (target ${fault.target}, hold ${fault.holdMs} ms)`);
    const rec = await inject(
      s,
      fault,
      now,
      (server, path, input) => admin.call(server, path, input as { saleId: string }),
      SALES,
    );
    faults.push(rec);
    log(
      `  healed after ${((rec.healed - rec.start) / 1000).toFixed(1)} s, all ready after ${((rec.ready - rec.start) / 1000).toFixed(1)} s${rec.error ? ` — ${rec.error}` : ''}`,
    );
    if (rec.error) break;
    // Healed means serving again: wait (up to a minute) for an order accepted after the heal.
    const served = await acceptedSince(history, rec.healed, 60_000);
    if (!served) log('  no order accepted within 60 s of the heal');
    await sleep(fault.gapMs);
  }
  while (now() < endMs) await sleep(200);
  stopped = true;
  await load;
  await sampler;
  const stalled = await stalls.done;
  sampleRedis.disconnect();
  const loadEnd = now();
  log(`load stopped at ${(loadEnd / 1000).toFixed(1)} s; draining`);

  // Drain: every sale resumed and rebuilt, every message persisted, every record settled.
  for (const saleId of SALES) await admin.until(() => s.servers, 'admin.resumeSale', { saleId });
  const drainErrors: string[] = [];
  for (const saleId of SALES)
    await waitForQuiet({
      ns: s.ns,
      saleId,
      redisUrl: s.redisUrl,
      natsUrl: s.natsUrl,
      timeoutMs: 120_000,
    }).catch((err) => drainErrors.push(String(err)));
  // A rebuild waiting for the last messages finishes just after the stream empties: judge the
  // sales only once each has its hot state back and no rebuild flag (else a false I1/I5).
  for (const saleId of SALES) await rebuilt(s, saleId, 60_000).catch((err) => drainErrors.push(String(err)));

  const violations: Violation[] = [...sampled];
  const facts: Record<string, unknown> = {};
  const losses = faults
    .filter((f) => ROOM_LOSSES.has(f.kind))
    .map((f) => ({ start: f.start, end: f.healed }));
  for (const saleId of SALES) {
    const v = await checkSale({
      db: s.db.url,
      redis: s.redisUrl,
      ns: s.ns,
      saleId,
      history: history.events,
      ...(saleId === QUEUED
        ? {
            // The room Redis holds now is the last one: it says nothing of the rooms a wipe lost.
            ...(losses.length > 0 ? { admitPerSecond: false as const } : {}),
            admission: { saleId, ...QUEUE, wallStartMs: history.wallStartMs, losses, startsAtMs },
          }
        : {}),
    });
    violations.push(...v.violations.map((x) => ({ ...x, message: `${saleId}: ${x.message}` })));
    facts[saleId] = v.facts;
    if (saleId === QUEUED) {
      // What the I8 judge could see: rooms, tokens, admissions, places ordered, orders checked.
      const coverage = { rooms: 0, tokens: 0, admissionsSeen: 0, placesOrdered: 0, ordersChecked: 0 };
      const obs = await observeSale({ db: s.db.url, redis: s.redisUrl, ns: s.ns, saleId });
      judgeAdmissionHistory(
        history.events,
        obs.rows,
        { saleId, ...QUEUE, wallStartMs: history.wallStartMs, losses, startsAtMs },
        coverage,
      );
      facts[saleId] = { ...v.facts, admission: coverage };
    }
  }

  // Report
  const events = history.events;
  const windows = faultWindows(events, faults, loadEnd, SALES);
  const answers = answersByKind(events);
  const calls = events.filter((e) => e.type === 'invoke').length;
  const unhealed = faults.filter((f) => f.error);
  const missing = required.filter((k) => !faults.some((f) => f.kind === k));
  const rebuilds = rebuildsOf(
    s.servers.map((x) => ({ server: x.name, file: join(out, `${x.name}.log`) })),
    history.wallStartMs,
  );
  const summary = {
    seed,
    durationS,
    cluster,
    namespace: s.ns,
    calls,
    answers,
    faults: windows,
    facts,
    violations,
    drainErrors,
    unhealed: unhealed.map((f) => `${f.kind} ${f.target}: ${f.error}`),
    missingFaults: missing,
    rebuilds: { ...rebuildSummary(rebuilds), each: rebuilds, stalled },
  };
  writeFileSync(join(out, 'history.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(
    join(out, 'timeline.svg'),
    timelineSvg(series(events), faults, `Surge fault run — seed ${seed}, ${durationS} s`),
  );

  const place = answers.place ?? {};
  log(
    `${calls} calls; order.place: ${Object.entries(place)
      .sort(([, a], [, b]) => b - a)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  for (const [k, v] of Object.entries(answers)) if (k !== 'place') log(`  ${k}: ${JSON.stringify(v)}`);
  log(`${faults.length} faults:`);
  for (const w of windows)
    log(
      `  ${(w.start / 1000).toFixed(1)} s ${w.kind} ${w.target}: healed +${((w.healed - w.start) / 1000).toFixed(1)} s, ready +${((w.ready - w.start) / 1000).toFixed(1)} s, longest gap without a success ${(w.longestGapMs / 1000).toFixed(1)} s, first success ${w.recoveryMs === null ? 'never' : `${(w.recoveryMs / 1000).toFixed(1)} s`} after the heal; per sale: ${Object.entries(
        w.perSale,
      )
        .map(
          ([id, u]) =>
            `${id} ${(u.longestGapMs / 1000).toFixed(1)}/${u.recoveryMs === null ? 'never' : (u.recoveryMs / 1000).toFixed(1)}`,
        )
        .join(', ')}`,
    );
  for (const [saleId, f] of Object.entries(facts)) log(`  ${saleId}: ${JSON.stringify(f)}`);
  const { each: _each, stalled: _stalled, ...rebuildFigures } = summary.rebuilds;
  log(`rebuilds: ${JSON.stringify(rebuildFigures)}`);
  const problems = [
    ...describeViolations(violations),
    ...drainErrors.map((e) => `drain: ${e}`),
    ...summary.unhealed.map((e) => `fault not healed: ${e}`),
    ...missing.map((k) => `required fault not run: ${k}`),
  ];
  log(problems.length === 0 ? 'no violation' : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  log(`history, summary and timeline in ${out}`);
  return problems.length === 0 ? 0 : 1;
}

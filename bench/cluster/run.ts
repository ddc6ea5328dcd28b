/**
 * `npm run bench:cluster` (docs/benchmarks.md#cluster-npm-run-benchcluster): what the cluster
 * topology costs on this machine, each part against a baseline measured in the same run —
 *   1. accepted orders/s end to end through HAProxy with 1 and 2 servers × 1 and 2 workers
 *      (intake.ts; baseline: 1 server + 1 worker without HAProxy), on the shared Redis and NATS;
 *   2. NATS publish cost at R1 and R3 on a private 3-node cluster (publish.ts; baseline R1);
 *   3. the reserve step per call on a private single Redis and a private Redis Cluster 3+3
 *      (redis.ts; baseline: single).
 * Built JS with NODE_ENV=production (bench/config.ts), each intake configuration with its own
 * database and namespace; every private process runs on a free port and is killed by PID.
 */
import { existsSync } from 'node:fs';
import { APPS } from '../../scripts/spawn-app.mjs';
import { ROOT } from '../../tests/support/paths.ts';
import { CFG } from '../config.ts';
import { runBenchMain } from '../isolated-run.ts';
import { CLUSTER_CFG, machineLine } from './common.ts';
import './lua-hook.ts';
import { INTAKE_CONFIGS, type IntakeFigures, intakeTable, measureIntake } from './intake.ts';
import { measurePublish, publishTable } from './publish.ts';

async function main(): Promise<void> {
  for (const js of [APPS.server.script, APPS.worker.script].map((s) => `${ROOT}/${s}`))
    if (!existsSync(js)) throw new Error(`${js} is missing: run \`npx turbo run build\` first`);
  const started = Date.now();
  console.log(`Surge cluster benchmark, ${new Date(started).toISOString()}`);
  console.log(`machine: ${machineLine()}`);
  console.log(
    "NOTE: every process of every topology below shares this machine's cores with the load generator " +
      '(and, here, with other sessions): these figures show what each piece COSTS, not what a cluster ' +
      'of real machines can carry. Two servers on 2 shared cores cannot be faster than one.\n',
  );

  console.log(
    `1. intake through HAProxy: autocannon ${CFG.connections} connections, ${CLUSTER_CFG.intakeS} s measured ` +
      `after ${CFG.warmupS} s warm-up per configuration, ${CFG.users} users, built JS, NODE_ENV=production, ` +
      'shared Redis and NATS (R1); CPU per accepted order',
  );
  const intake: IntakeFigures[] = [];
  for (const c of INTAKE_CONFIGS) {
    process.stdout.write(`   ${c.label}… `);
    intake.push(await measureIntake(c));
    console.log('done');
  }
  console.log(`\n${intakeTable(intake)}\n`);

  console.log(
    `2. NATS js.publish of a ~300-byte order with a msgID, private 3-node cluster, file storage: ` +
      `${CLUSTER_CFG.sequential} awaited one at a time, ${CLUSTER_CFG.concurrent} with ${CLUSTER_CFG.window} in flight; ` +
      'R1 and R3 interleaved, mean of 2 rounds',
  );
  console.log(`\n${publishTable(await measurePublish())}\n`);

  console.log(
    `3. the reserve step (reserve-stock.lua through the app's client): ${CLUSTER_CFG.sequential} calls awaited ` +
      `one at a time, ${CLUSTER_CFG.concurrent} with ${CLUSTER_CFG.window} in flight; no persistence on either side`,
  );
  // After lua-hook.ts: redis.ts reaches packages/hot-state's .lua files.
  const { measureRedis, redisTable } = await import('./redis.ts');
  const redis = await measureRedis();
  console.log(`\n${redisTable(redis)}`);
  for (const r of redis) console.log(`   ${r.label} replies: ${r.replies}`);
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await runBenchMain(main);

// `npm run cluster`: Surge beyond one machine, as local processes — a 3-node NATS
// cluster (JetStream, R3 orders stream), a Redis Cluster of 3 primaries + 3 replicas, 2 servers,
// 2 workers and HAProxy on :3000 balancing the servers (health checks on /readyz). PostgreSQL is
// the server at DATABASE_URL, with a database of the cluster's own (`<name>_cluster`, below).
// Data lives in .cluster/ (git-ignored), started afresh each run.
// Ctrl-C stops everything it started: the apps drain first, then HAProxy, Redis and NATS.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXY_MISSING, haproxyBinary, haproxyConfig } from './haproxy.mjs';
import {
  answers,
  DEFAULTS,
  ensureDeps,
  ensureLocalEnv,
  ensureServices,
  fail,
  has,
  log,
  ROOT,
  run,
  waitFor,
} from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';
import { startReaper } from './reaper.mjs';
import { spawnApp } from './spawn-app.mjs';

const PORTS = {
  lb: Number(process.env.CLUSTER_PORT ?? 3000),
  stats: 8404,
  nats: [4301, 4302, 4303],
  natsRoutes: [6301, 6302, 6303],
  natsMonitor: [8301, 8302, 8303],
  redis: [7101, 7102, 7103, 7104, 7105, 7106],
  servers: [3101, 3102],
};

await ensureNode();
const missing = [
  ['nats-server', 'nats-server (apt-get install -y nats-server, or https://nats.io/download)'],
  ['redis-server', 'redis-server (apt-get install -y redis-server)'],
  ['redis-cli', 'redis-tools (apt-get install -y redis-tools)'],
].filter(([cmd]) => !has(cmd) && !has(`/usr/sbin/${cmd}`));
const haproxy = haproxyBinary();
if (missing.length > 0 || !haproxy)
  fail(
    `npm run cluster needs: ${[...missing.map(([, pkg]) => pkg), ...(haproxy ? [] : [HAPROXY_MISSING])].join('; ')}`,
  );
for (const port of [
  PORTS.lb,
  PORTS.stats,
  ...PORTS.nats,
  ...PORTS.natsRoutes,
  ...PORTS.redis,
  ...PORTS.servers,
])
  if (await answers('127.0.0.1', port, 300))
    fail(`port ${port} is taken: is another npm run cluster running?`);

ensureDeps();
ensureLocalEnv();
await ensureServices(); // PostgreSQL (and the single Redis/NATS the cluster does not use)
// A database of its own (created by the migration step): the cluster rebuilds every sale into its
// fresh Redis Cluster, which advances each sale's epoch in PostgreSQL — on `npm start`'s database
// that would strand the single Redis's reservations of the older epoch (their orders never
// persisted, the sale stuck rebuilding).
process.env.DATABASE_URL =
  process.env.CLUSTER_DATABASE_URL ?? clusterDatabase(process.env.DATABASE_URL ?? DEFAULTS.DATABASE_URL);
const DATA = join(ROOT, '.cluster');
rmSync(DATA, { recursive: true, force: true });
mkdirSync(DATA, { recursive: true });
// If this script dies without stopping what it started (SIGKILL, a crash), the reaper does.
const reaper = startReaper({ logFile: join(DATA, 'reaper.log') });

/**
 * Infrastructure processes, in their own process groups like the apps: a Ctrl-C in the terminal
 * reaches only this script; Redis, NATS and HAProxy must outlive the apps' drain and are stopped
 * by PID afterwards (stopAll).
 */
const infra = [];
function start(name, cmd, args) {
  const out = openSync(join(DATA, `${name}.log`), 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', out, out], detached: true });
  infra.push({ name, child });
  reaper.watch('infra', child.pid);
  child.on('exit', (code, signal) => {
    reaper.forget(child.pid);
    if (!stopping) log(`${name} exited (${code ?? signal}); see .cluster/${name}.log`);
  });
  return child;
}
let stopping = false;
const apps = [];
/**
 * The apps run in their own process groups (`ownGroup`), so a Ctrl-C in the terminal reaches
 * only this script, as does a signal sent to it alone: either way it sends each app exactly one
 * SIGTERM (a second signal would make an app skip its drain), waits for them, then stops the rest.
 */
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  log('stopping: servers and workers drain, then HAProxy, Redis and NATS…');
  const running = apps.filter((a) => a.running());
  reaper.stopping(); // the apps get their one SIGTERM here: the reaper must not send another
  for (const a of running) a.child.kill('SIGTERM');
  const drained = Promise.all(running.map((a) => a.exited));
  if (
    (await Promise.race([drained.then(() => true), new Promise((r) => setTimeout(r, 30_000, false))])) ===
    false
  )
    for (const a of apps) if (a.running()) a.child.kill('SIGKILL');
  for (const { child } of infra.reverse())
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  reaper.done();
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  const natsBin = has('nats-server') ? 'nats-server' : '/usr/sbin/nats-server';
  const routes = PORTS.natsRoutes.map((p) => `nats://127.0.0.1:${p}`).join(',');
  PORTS.nats.forEach((port, i) => {
    const dir = join(DATA, `nats-${i + 1}`);
    mkdirSync(dir);
    start(`nats-${i + 1}`, natsBin, [
      ...['-a', '127.0.0.1', '-p', String(port), '-m', String(PORTS.natsMonitor[i]), '-js', '-sd', dir],
      ...[
        '-n',
        `surge-n${i + 1}`,
        '--cluster_name',
        'surge',
        '--cluster',
        `nats://127.0.0.1:${PORTS.natsRoutes[i]}`,
      ],
      ...['--routes', routes],
    ]);
  });
  PORTS.redis.forEach((port, i) => {
    const dir = join(DATA, `redis-${i + 1}`);
    mkdirSync(dir);
    start(`redis-${i + 1}`, 'redis-server', [
      ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir],
      ...[
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
      ],
      ...['--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
    ]);
  });
  for (const port of [...PORTS.nats, ...PORTS.redis]) await waitFor('127.0.0.1', port, 20_000);
  log('joining the Redis Cluster (3 primaries, 1 replica each)…');
  execFileSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...PORTS.redis.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    const ok = PORTS.redis.every((p) =>
      execFileSync('redis-cli', ['-p', String(p), 'CLUSTER', 'INFO'], { encoding: 'utf8' }).includes(
        'cluster_state:ok',
      ),
    );
    if (ok) break;
    if (i > 100) throw new Error('the Redis Cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 200));
  }

  log('applying database migrations and seeding the demo sale…');
  run('npx', ['tsx', 'packages/db/src/cli/migrate.ts', 'deploy']);
  run('npx', ['tsx', 'prisma/seed.ts']);
  log('building…');
  run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });

  const env = {
    REDIS_URL: PORTS.redis.map((p) => `redis://127.0.0.1:${p}`).join(','),
    REDIS_CLUSTER: 'true',
    NATS_URL: PORTS.nats.map((p) => `nats://127.0.0.1:${p}`).join(','),
    STREAM_REPLICAS: '3',
    TRUST_PROXY: 'true',
    ALLOWED_ORIGINS: `http://localhost:${PORTS.lb},http://127.0.0.1:${PORTS.lb}`,
  };
  // Each app registered with the reaper as soon as it is spawned, then waited for.
  const startApp = async (app, port, label) => {
    const out = openSync(join(DATA, `${label}.log`), 'a');
    const a = await spawnApp({
      app,
      port,
      env,
      stdio: ['ignore', out, out],
      label,
      ownGroup: true,
      waitReady: false,
    });
    reaper.watch('app', a.pid);
    void a.exited.then(() => reaper.forget(a.pid));
    apps.push(a);
    await a.ready().catch(async (err) => {
      await a.kill();
      throw err;
    });
  };
  // One server first: it declares the R3 stream while the NATS cluster settles.
  for (const [i, port] of PORTS.servers.entries()) await startApp('server', port, `server-${i + 1}`);
  for (let i = 0; i < 2; i++) await startApp('worker', 'free', `worker-${i + 1}`);
  const cfg = join(DATA, 'haproxy.cfg');
  writeFileSync(
    cfg,
    haproxyConfig({
      port: PORTS.lb,
      statsPort: PORTS.stats,
      // Loopback, as the apps in development: the cluster's servers run without NODE_ENV=production.
      bind: '127.0.0.1',
      servers: PORTS.servers.map((port, i) => ({ name: `server-${i + 1}`, port })),
    }),
  );
  start('haproxy', haproxy, ['-f', cfg, '-db']);
  await waitFor('127.0.0.1', PORTS.lb, 10_000);
  for (const app of apps)
    app.child.on('exit', (code, signal) => {
      if (!stopping && !app.stopping)
        log(`${app.label ?? 'an app'} exited (${code ?? signal}); HAProxy routes around a server`);
    });

  log(`shop:      http://localhost:${PORTS.lb}/   (HAProxy → servers :${PORTS.servers.join(', :')})`);
  log(`HUD:       http://localhost:${PORTS.lb}/admin   (admin password: ${process.env.ADMIN_PASSWORD})`);
  log(`HAProxy:   http://localhost:${PORTS.stats}/   (backends and their /readyz checks)`);
  log(`NATS:      ${env.NATS_URL}   (monitoring http://localhost:${PORTS.natsMonitor[0]}/jsz)`);
  log(`Redis:     ${env.REDIS_URL}`);
  log(
    `workers:   ${apps
      .slice(PORTS.servers.length)
      .map((a) => `${a.url}/metrics`)
      .join(' ')}`,
  );
  log('logs and data: .cluster/   Ctrl-C stops everything.');
} catch (err) {
  log(`npm run cluster failed: ${err instanceof Error ? err.message : err}`);
  await stopAll(1);
}

/** The same PostgreSQL server, the database `<name>_cluster` (`surge_cluster` by default). */
function clusterDatabase(url) {
  const u = new URL(url);
  u.pathname = `/${decodeURIComponent(u.pathname.slice(1)) || 'surge'}_cluster`;
  return u.toString();
}

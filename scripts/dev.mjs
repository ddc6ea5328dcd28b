// `npm run dev`: Vite dev server (with a proxy to the API) + server and worker in watch mode.
import { spawn } from 'node:child_process';
import { appEnv, ensureDeps, ensureLocalEnv, ensureServices, log, relaySignals, run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

await ensureNode();
ensureDeps();
ensureLocalEnv();
await ensureServices();
run('npx', ['tsx', 'packages/db/src/cli/migrate.ts', 'deploy']);
// Server and worker: esbuild rebuilds their bundles on every change (the bundler also
// inlines the Lua scripts), and `node --watch` restarts them when a bundle changes.
const bundle = (app) =>
  run(process.execPath, ['scripts/bundle.mjs', `apps/${app}/src/main.ts`, `apps/${app}/dist/main.js`]);
bundle('server');
bundle('worker');
const procs = [
  spawn(
    process.execPath,
    ['scripts/bundle.mjs', '--watch', 'apps/server/src/main.ts', 'apps/server/dist/main.js'],
    { stdio: 'inherit' },
  ),
  spawn(
    process.execPath,
    ['scripts/bundle.mjs', '--watch', 'apps/worker/src/main.ts', 'apps/worker/dist/main.js'],
    { stdio: 'inherit' },
  ),
  spawn(process.execPath, ['--watch', 'apps/server/dist/main.js'], { stdio: 'inherit' }),
  spawn(process.execPath, ['--watch', 'apps/worker/dist/main.js'], {
    stdio: 'inherit',
    env: appEnv('worker'),
  }),
  spawn('npx', ['vite', '--config', 'apps/web/vite.config.ts'], { stdio: 'inherit' }),
];
const devUrl = `http://localhost:${process.env.VITE_DEV_PORT ?? 5173}`;
log(`dev: ${devUrl}/ (proxying /trpc to the server)`);
log(`HUD: ${devUrl}/admin   (admin password: ${process.env.ADMIN_PASSWORD})`);
// Ctrl-C reaches every process here directly; a SIGTERM to this script is passed on.
relaySignals(() => procs);
for (const p of procs) {
  p.on('exit', () => {
    if (procs.every((x) => x.exitCode !== null || x.signalCode !== null)) process.exit(0);
  });
}

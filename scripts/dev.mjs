// `npm run dev`: Vite dev server (with a proxy to the API) + server and worker in watch mode.
import { spawn } from 'node:child_process';
import { ensureDeps, ensureLocalEnv, ensureServices, log, run } from './lib.mjs';

ensureDeps();
ensureLocalEnv();
await ensureServices();
run('npx', ['tsx', 'packages/db/src/cli/migrate.ts', 'deploy']);
const procs = [
  spawn('npx', ['tsx', 'watch', 'apps/server/src/main.ts'], { stdio: 'inherit' }),
  spawn('npx', ['tsx', 'watch', 'apps/worker/src/main.ts'], { stdio: 'inherit' }),
  spawn('npx', ['vite', '--config', 'apps/web/vite.config.ts'], { stdio: 'inherit' }),
];
log(`dev: http://localhost:${process.env.VITE_DEV_PORT ?? 5173}/ (proxying /trpc to the server)`);
process.on('SIGINT', () => {
  for (const p of procs) p.kill('SIGTERM');
  process.exit(0);
});

// `npm start`: from a fresh clone to a running Surge on http://localhost:3000.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureDeps, ensureLocalEnv, ensureServices, log, ROOT, run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

await ensureNode();
ensureDeps();
ensureLocalEnv();
await ensureServices();
log('applying database migrations…');
run('npx', ['tsx', 'packages/db/src/cli/migrate.ts', 'deploy']);
log('seeding the demo sale…');
run('npx', ['tsx', 'prisma/seed.ts']);
log('building…');
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});

const port = process.env.PORT ?? '3000';
const children = [
  spawn(process.execPath, [join(ROOT, 'apps/server/dist/main.js')], { stdio: 'inherit', env: process.env }),
  spawn(process.execPath, [join(ROOT, 'apps/worker/dist/main.js')], { stdio: 'inherit', env: process.env }),
];
log(`shop:  http://localhost:${port}/`);
log(`HUD:   http://localhost:${port}/admin   (admin password: ${process.env.ADMIN_PASSWORD})`);
log('Ctrl-C stops server and worker.');

let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const c of children) {
  c.on('exit', (code) => {
    if (!stopping) {
      log(`a process exited (${code}); stopping the other`);
      stop('SIGTERM');
    }
    if (children.every((x) => x.exitCode !== null || x.signalCode !== null)) process.exit(code ?? 0);
  });
}

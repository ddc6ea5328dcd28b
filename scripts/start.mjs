// `npm start`: from a fresh clone to a running Surge on http://localhost:3000.
import { appEnv, ensureDeps, ensureLocalEnv, ensureServices, log, relaySignals, run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';
import { spawnApp } from './spawn-app.mjs';

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
const children = (
  await Promise.all(
    ['server', 'worker'].map((app) =>
      spawnApp({ app, stdio: 'inherit', waitReady: false, env: appEnv(app) }),
    ),
  )
).map((app) => app.child);
log(`shop:  http://localhost:${port}/`);
log(`HUD:   http://localhost:${port}/admin   (admin password: ${process.env.ADMIN_PASSWORD})`);
log('Ctrl-C stops server and worker (they finish what they hold; a second Ctrl-C forces them).');

// Ctrl-C reaches server and worker directly (same process group); a SIGTERM to this script is
// passed on. Never both: a second signal makes them skip their drain.
let stopping = false;
relaySignals(
  () => children,
  () => {
    stopping = true;
  },
);
for (const c of children) {
  c.on('exit', (code, signal) => {
    if (!stopping && children.some((x) => x.exitCode === null && x.signalCode === null)) {
      stopping = true;
      log(`a process exited (${code ?? signal}); stopping the other`);
      for (const x of children) if (x.exitCode === null && x.signalCode === null) x.kill('SIGTERM');
    }
    if (children.every((x) => x.exitCode !== null || x.signalCode !== null)) {
      // 0 only when both stopped cleanly.
      process.exit(children.every((x) => x.exitCode === 0) ? 0 : 1);
    }
  });
}

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
const apps = await Promise.all(
  ['server', 'worker'].map((app) => spawnApp({ app, stdio: 'inherit', waitReady: false, env: appEnv(app) })),
);
const children = apps.map((app) => app.child);

// Ctrl-C reaches server and worker directly (same process group) and is not passed on; a
// SIGTERM to this script is. A SIGTERM to the whole group reaches them both ways: they take the
// copy as the same stop request (onShutdown in packages/infra/src/shutdown.ts).
let stopping = false;
let signalled = false;
let ready = false;
relaySignals(
  () => children,
  () => {
    stopping = true;
    signalled = true;
  },
);
for (const c of children) {
  c.on('exit', (code, signal) => {
    if (!stopping && children.some((x) => x.exitCode === null && x.signalCode === null)) {
      stopping = true;
      log(`a process exited (${code ?? signal}); stopping the other`);
      if (!ready && !signalled)
        log(
          `it did not start (its log is above). A port already in use? PORT=3100 npm start moves the ` +
            `server (now ${port}), WORKER_PORT the worker's (now ${apps[1]?.port}).`,
        );
      for (const x of children) if (x.exitCode === null && x.signalCode === null) x.kill('SIGTERM');
    }
    if (children.every((x) => x.exitCode !== null || x.signalCode !== null)) {
      // 0 only when both stopped cleanly.
      process.exit(children.every((x) => x.exitCode === 0) ? 0 : 1);
    }
  });
}

// The URLs once both answer /readyz (not before: a port already taken would print a shop URL
// that some other program answers).
try {
  await Promise.all(apps.map((app) => app.ready(180_000)));
  ready = true;
  log(`shop:  http://localhost:${port}/`);
  log(`HUD:   http://localhost:${port}/admin   (admin password: ${process.env.ADMIN_PASSWORD})`);
  log('Ctrl-C stops server and worker (they finish what they hold; a second Ctrl-C forces them).');
} catch (err) {
  // An exit is said by the exit handler above; a start that hangs is said here.
  if (!stopping) log(`${err instanceof Error ? err.message : err}`);
}

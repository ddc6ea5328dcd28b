import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { baseEnv } from '../../support/env.ts';
import { ROOT } from '../../support/paths.ts';
import { createTestDatabase, eventually, freePort, newNamespace } from '../../support/services.ts';
import { STATE_FILE, type StackState } from './stack-state.ts';

export const E2E_ADMIN_PASSWORD = 'e2e-admin-password-0001';
const SESSION_SECRET = 'e2e-session-secret-0123456789abcdefgh';

/** Environment of the e2e server and workers: their own database and namespace, limits off. */
export function stackEnv(state: Pick<StackState, 'databaseUrl' | 'ns'>, extra: Record<string, string> = {}) {
  return {
    ...process.env,
    ...baseEnv({ url: state.databaseUrl }, state.ns, {
      NODE_ENV: 'production',
      ADMIN_PASSWORD: E2E_ADMIN_PASSWORD,
      SESSION_SECRET,
      // Every spec logs in; the throttle stays on, just wide enough for the suite.
      ADMIN_LOGIN_LIMIT: '1000',
      PAYMENT_LATENCY_MS: '400',
      HEARTBEAT_MS: '500',
      LOG_LEVEL: 'warn',
      ...extra,
    }),
  };
}

/** Starts one built worker process; resolves with its PID once it is ready. */
export async function startWorkerProcess(
  state: Pick<StackState, 'databaseUrl' | 'ns'>,
  workerId: string,
): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [`${ROOT}/apps/worker/dist/main.js`], {
    env: stackEnv(state, { WORKER_PORT: String(port), WORKER_ID: workerId }),
    stdio: 'ignore',
    detached: true,
  });
  child.unref();
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
    30_000,
  );
  return child.pid ?? 0;
}

export default async function globalSetup(): Promise<void> {
  const db = await createTestDatabase();
  const ns = newNamespace();
  const port = await freePort();
  const base = { databaseUrl: db.url, ns };
  // The built server serves the built web app, as `npm start` does.
  const server = spawn(process.execPath, [`${ROOT}/apps/server/dist/main.js`], {
    env: stackEnv(base, { PORT: String(port), HOST: '127.0.0.1', SWEEP_INTERVAL_MS: '250' }),
    stdio: 'ignore',
    detached: true,
  });
  server.unref();
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 30_000);
  const worker = await startWorkerProcess(base, 'e2e-worker-1');
  const state: StackState = {
    url,
    ns,
    databaseUrl: db.url,
    adminPassword: E2E_ADMIN_PASSWORD,
    sessionSecret: SESSION_SECRET,
    serverPid: server.pid ?? 0,
    workerPids: [worker],
  };
  mkdirSync(dirname(STATE_FILE), { recursive: true });
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

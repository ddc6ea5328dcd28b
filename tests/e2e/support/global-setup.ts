import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { freePort, spawnApp } from '../../../scripts/spawn-app.mjs';
import { baseEnv, PRODUCTION_SECRETS } from '../../support/env.ts';
import { createTestDatabase, newNamespace } from '../../support/services.ts';
import { STATE_FILE, type StackState } from './stack-state.ts';

// Production refuses secrets below ~80 bits of estimated strength (README.md#security).
export const E2E_ADMIN_PASSWORD = 'e2e-Xq7vR2mK9pL4zT8wN6yB3cF5hJ1sDa';
const SESSION_SECRET = 'e2e-Kd9wQ3xV7nB2mL5pR8tY4zH6jF1cGs0';

/** Environment of the e2e server and workers: their own database and namespace, limits off. */
export function stackEnv(state: Pick<StackState, 'databaseUrl' | 'ns'>, extra: Record<string, string> = {}) {
  return {
    ...process.env,
    ...baseEnv({ url: state.databaseUrl }, state.ns, {
      NODE_ENV: 'production',
      ADMIN_PASSWORD: E2E_ADMIN_PASSWORD,
      SESSION_SECRET,
      METRICS_TOKEN: PRODUCTION_SECRETS.METRICS_TOKEN,
      // Every spec logs in; the throttle stays on, just wide enough for the suite.
      ADMIN_LOGIN_LIMIT: '1000',
      PAYMENT_LATENCY_MS: '400',
      HEARTBEAT_MS: '500',
      LOG_LEVEL: 'warn',
      // The shop page pays the proof of work at its default difficulty (README.md#security).
      POW_MAX_NUMBER: '500',
      POW_COST: '1000',
      ...extra,
    }),
  };
}

/** Starts one built worker process; resolves with its PID once it is ready. */
export async function startWorkerProcess(
  state: Pick<StackState, 'databaseUrl' | 'ns'>,
  workerId: string,
): Promise<number> {
  // Detached: it outlives this set-up; the global teardown stops it by PID.
  const worker = await spawnApp({
    app: 'worker',
    port: 'free',
    env: stackEnv(state, { WORKER_ID: workerId }),
    detached: true,
  });
  return worker.pid ?? 0;
}

export default async function globalSetup(): Promise<void> {
  const db = await createTestDatabase();
  const ns = newNamespace();
  const base = { databaseUrl: db.url, ns };
  // The built server serves the built web app, as `npm start` does; production names the
  // page's origin (it refuses to start without ALLOWED_ORIGINS).
  const port = await freePort();
  const server = await spawnApp({
    app: 'server',
    port,
    env: stackEnv(base, {
      HOST: '127.0.0.1',
      SWEEP_INTERVAL_MS: '250',
      ALLOWED_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}`,
    }),
    detached: true,
  });
  const url = server.url;
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

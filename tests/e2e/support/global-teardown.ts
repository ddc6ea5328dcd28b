import { dropDatabase } from '@surge/db/migrate';
import { readInstances } from '@surge/infra';
import { Redis } from 'ioredis';
import { cleanupNamespace, SHARED } from '../../support/services.ts';
import { readState } from './stack-state.ts';

/** Stops every process the run started (by PID) and removes its database and namespace. */
export default async function globalTeardown(): Promise<void> {
  const state = readState();
  const redis = new Redis(SHARED.redis);
  // Workers started by specs are found through their heartbeats.
  const extra = await readInstances(redis, state.ns, 'worker').catch(() => []);
  redis.disconnect();
  const pids = new Set([state.serverPid, ...state.workerPids, ...extra.map((w) => w.pid)]);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 1500));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await cleanupNamespace(state.ns);
  await dropDatabase(state.databaseUrl).catch(() => undefined);
}

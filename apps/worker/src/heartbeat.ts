import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * A worker announces itself under WORKER_ID every HEARTBEAT_MS in one namespace-wide hash
 * (`<ns>:workers`), so the HUD can show every worker — and a silent one as down — without
 * asking the workers themselves.
 */
export function workersKey(namespace: string): string {
  return `${namespace}:workers`;
}

export interface Heartbeat {
  id: string;
  host: string;
  pid: number;
  port: number;
  startedAt: number;
  lastSeen: number;
  state: string;
  processed: number;
  databaseUp: boolean;
}

export function startHeartbeat(
  redis: Redis,
  opts: { namespace: string; workerId: string; port: number; intervalMs: number },
  status: () => { state: string; processed: number; databaseUp: boolean },
) {
  const startedAt = Date.now();
  const beat = async () => {
    const hb: Heartbeat = {
      id: opts.workerId,
      host: hostname(),
      pid: process.pid,
      port: opts.port,
      startedAt,
      lastSeen: Date.now(),
      ...status(),
    };
    await redis.hset(workersKey(opts.namespace), opts.workerId, JSON.stringify(hb));
  };
  const timer = setInterval(() => void beat().catch(() => undefined), opts.intervalMs);
  timer.unref();
  void beat().catch(() => undefined);
  return {
    async stop(finalState = 'stopped') {
      clearInterval(timer);
      const prev = status();
      await redis
        .hset(
          workersKey(opts.namespace),
          opts.workerId,
          JSON.stringify({
            id: opts.workerId,
            host: hostname(),
            pid: process.pid,
            port: opts.port,
            startedAt,
            lastSeen: Date.now(),
            ...prev,
            state: finalState,
          }),
        )
        .catch(() => undefined);
    },
  };
}

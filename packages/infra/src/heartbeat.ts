import { hostname } from 'node:os';
import type { Redis } from 'ioredis';

/**
 * Every server and worker announces itself every interval in one namespace-wide hash per
 * kind (`<ns>:servers`, `<ns>:workers`), so the HUD shows each instance — and a silent one as
 * down — without asking the instances themselves.
 */
export type InstanceKind = 'server' | 'worker';

export function instancesKey(namespace: string, kind: InstanceKind): string {
  return `${namespace}:${kind}s`;
}

export interface InstanceBeat {
  id: string;
  kind: InstanceKind;
  host: string;
  pid: number;
  startedAt: number;
  lastSeen: number;
  state: string;
  detail: Record<string, string | number | boolean>;
}

export function startHeartbeat(
  redis: Redis,
  opts: { namespace: string; kind: InstanceKind; id: string; intervalMs: number },
  status: () => { state: string; detail: Record<string, string | number | boolean> },
) {
  const startedAt = Date.now();
  const key = instancesKey(opts.namespace, opts.kind);
  const write = (state?: string) => {
    const s = status();
    const beat: InstanceBeat = {
      id: opts.id,
      kind: opts.kind,
      host: hostname(),
      pid: process.pid,
      startedAt,
      lastSeen: Date.now(),
      state: state ?? s.state,
      detail: s.detail,
    };
    return redis.hset(key, opts.id, JSON.stringify(beat));
  };
  const timer = setInterval(() => void write().catch(() => undefined), opts.intervalMs);
  timer.unref();
  void write().catch(() => undefined);
  return {
    /** The last beat says `stopped`, so the HUD can tell a clean stop from a crash. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await write('stopped').catch(() => undefined);
    },
  };
}

export async function readInstances(
  redis: Redis,
  namespace: string,
  kind: InstanceKind,
): Promise<InstanceBeat[]> {
  const all = await redis.hgetall(instancesKey(namespace, kind));
  const out: InstanceBeat[] = [];
  for (const raw of Object.values(all)) {
    try {
      out.push(JSON.parse(raw) as InstanceBeat);
    } catch {
      // skip a malformed entry
    }
  }
  return out;
}

import { waitUntilReady } from '../../scripts/spawn-app.mjs';
import type { Fault } from './schedule.ts';
import type { ChaosStack, Slot } from './stack.ts';

/** One fault as it happened: times in ms on the history's clock. */
export interface FaultRecord {
  kind: Fault['kind'];
  target: string;
  start: number;
  /** When the fault was healed (restart done, SIGCONT sent). */
  healed: number;
  /** When every server and worker answered /readyz again. */
  ready: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number | undefined, sig: NodeJS.Signals) {
  if (pid === undefined) throw new Error(`no process to send ${sig} to`);
  process.kill(pid, sig);
}

/**
 * Injects one fault and heals it, then waits until every server and worker is ready again.
 * `admin(server, path, input)` makes a recorded admin call on that server (never awaited
 * here: the kill is the point).
 */
export async function inject(
  stack: ChaosStack,
  fault: Fault,
  now: () => number,
  admin: (server: Slot, path: string, input: unknown) => Promise<unknown>,
  saleIds: readonly string[],
): Promise<FaultRecord> {
  const server = stack.servers[fault.target % stack.servers.length] as Slot;
  const worker = stack.workers[fault.target % stack.workers.length] as Slot;
  const natsNode = stack.nats[fault.target % stack.nats.length] as ChaosStack['nats'][number];
  const sale = saleIds[fault.target % saleIds.length] as string;
  const target = {
    'kill-server': server.name,
    'kill-worker': worker.name,
    'redis-wipe': 'redis',
    'redis-outage': 'redis',
    'postgres-restart': 'postgres',
    'nats-restart': stack.nats.length > 1 ? `nats-${(fault.target % stack.nats.length) + 1}` : 'nats',
    'stop-server': server.name,
    'stop-worker': worker.name,
    'kill-during-rebuild': `${server.name} (${sale})`,
    'kill-during-restock': `${server.name} (${sale})`,
  }[fault.kind];
  const start = now();
  let error: string | undefined;
  try {
    switch (fault.kind) {
      case 'kill-server':
        await server.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await server.restart();
        break;
      case 'kill-worker':
        await worker.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await worker.restart();
        break;
      case 'redis-wipe':
        await stack.redis.stop();
        await sleep(fault.holdMs);
        await stack.redis.start();
        break;
      case 'redis-outage':
        signal(stack.redis.pid(), 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(stack.redis.pid(), 'SIGCONT');
        break;
      case 'postgres-restart':
        await stack.postgres.stop();
        await sleep(fault.holdMs);
        await stack.postgres.start();
        break;
      case 'nats-restart':
        await natsNode.stop();
        await sleep(fault.holdMs);
        await natsNode.start();
        break;
      case 'stop-server':
        signal(server.app.pid, 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(server.app.pid, 'SIGCONT');
        break;
      case 'stop-worker':
        signal(worker.app.pid, 'SIGSTOP');
        await sleep(fault.holdMs);
        signal(worker.app.pid, 'SIGCONT');
        break;
      case 'kill-during-rebuild':
      case 'kill-during-restock': {
        const call =
          fault.kind === 'kill-during-rebuild'
            ? admin(server, 'admin.flushCache', { saleId: sale })
            : admin(server, 'admin.restock', { saleId: sale, quantity: 5 + fault.delayMs });
        void call.catch(() => undefined);
        await sleep(fault.delayMs);
        await server.app.kill('SIGKILL');
        await sleep(fault.holdMs);
        await server.restart();
        break;
      }
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const healed = now();
  try {
    await Promise.all([...stack.servers, ...stack.workers].map((s) => waitUntilReady(s.app, 90_000)));
  } catch (err) {
    error = `${error ? `${error}; ` : ''}not ready after the heal: ${err instanceof Error ? err.message : String(err)}`;
  }
  return { kind: fault.kind, target, start, healed, ready: now(), ...(error ? { error } : {}) };
}
